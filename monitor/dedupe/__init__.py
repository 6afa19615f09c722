"""Deduplication beyond identical links: near-duplicate fingerprints and story clustering."""
