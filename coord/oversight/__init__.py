"""Oversight (policy §六): figures per agency and period with monthly trends, and the assessment (考核)."""
