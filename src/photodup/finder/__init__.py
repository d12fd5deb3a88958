"""The duplicate finder: scanning a library, grouping near-duplicates, safe actions."""
