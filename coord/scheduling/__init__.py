"""Scheduling: rooms, busy blocks, bookings (never double), the slot finder and week views."""
