"""Parsing feed bodies into clean items with stable identities and canonical links."""
