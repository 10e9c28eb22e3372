"""Append-only, hash-chained audit trail (执法全过程记录)."""
