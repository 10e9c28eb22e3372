"""Accounts, roles, API tokens and agency scoping."""
