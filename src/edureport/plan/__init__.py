"""The work plan (工作要点): its model, reading the YAML, checking every field, the commentary file."""
