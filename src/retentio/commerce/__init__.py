"""The product catalogue and orders: what each customer bought, and what it was worth."""
