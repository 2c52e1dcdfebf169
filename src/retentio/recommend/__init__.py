"""Recommendations: products bought together, next best offers, replenishment intervals."""
