"""Who changed what: an append-only log shown on cards and kept for admin actions."""
