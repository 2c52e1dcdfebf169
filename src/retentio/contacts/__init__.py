"""Contacts: the customer record, its identities, tags, owners and watchers, notes and merges."""
