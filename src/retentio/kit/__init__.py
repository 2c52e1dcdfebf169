"""Helpers with no domain knowledge: upserts, signing, money, time, CSV safety."""
