"""Loyalty programme: points, tiers and the append-only ledger."""
