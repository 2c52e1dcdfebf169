"""Consent per channel and purpose, suppression of addresses, and reachability."""
