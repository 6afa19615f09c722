"""State in SQLite: feeds (cache headers, health, back-off), articles and their sightings."""
