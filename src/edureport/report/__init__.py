"""Report content: the context a report reads, shared blocks, sentences, charts, and the report kinds."""
