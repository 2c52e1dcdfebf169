"""`python -m retentio` runs the command-line interface."""

from retentio.cli import app

app()
