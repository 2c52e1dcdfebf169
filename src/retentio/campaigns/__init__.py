"""Campaigns: one-off sends to a segment, with A/B variants and a holdout group."""
