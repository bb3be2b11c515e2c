"""Reports built from the store: the shift handoff (text, Markdown, JSON, a chart)."""
