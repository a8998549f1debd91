"""Input data: the schema of the four tables, readers (CSV/Excel), validation, the verified store, the demo data."""
