"""The tasks tests build on the sales world (users, contacts, deals)."""

from tests.sales.conftest import sales

__all__ = ["sales"]
