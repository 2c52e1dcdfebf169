"""Journeys: trigger chains (abandoned cart, birthday, win-back) that run themselves."""
