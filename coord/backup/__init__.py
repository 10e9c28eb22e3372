"""Backups: `flask --app wsgi backup DIR` and `flask --app wsgi restore DIR`."""
