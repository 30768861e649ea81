"""element_db: the certified-element database (issue 6)."""
