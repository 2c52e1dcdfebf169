"""Custom fields: definitions per entity and validation of their values on every write."""
