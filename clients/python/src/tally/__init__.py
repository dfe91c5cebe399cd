"""Tally: a local experiment tracker (Python client)."""
