"""Users, roles, sessions, API tokens and the permission checks every router uses."""
