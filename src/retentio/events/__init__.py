"""Behavioural events from the site, the API and Segment-compatible SDKs; tracking sources."""
