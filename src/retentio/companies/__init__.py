"""Companies (B2B accounts) and the contacts who work there."""
