"""The agency directory (行政执法机关, annex 2)."""
