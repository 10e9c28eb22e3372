"""In-app notifications from domain events, with each user's e-mail choice (at once, daily digest, none)."""
