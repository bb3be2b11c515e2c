"""The systems the bot acts on, each behind a small port with domain errors."""
