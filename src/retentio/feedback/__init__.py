"""Feedback: NPS / CSAT / exit surveys and their answers; service tickets (complaints)."""
