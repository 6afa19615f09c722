"""Sources: the list of feeds to poll (configured, or the shipped default list)."""
