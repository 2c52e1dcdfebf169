"""Retentio: a self-hosted retention-marketing CRM."""

__version__ = "0.1.0"
