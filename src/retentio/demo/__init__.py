"""A demo shop: synthetic customers and orders drawn from known model parameters."""
