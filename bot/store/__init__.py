"""The SQLite store: one file, versioned migrations, one module per kind of record."""

from bot.store.database import SCHEMA_VERSION, open_store

__all__ = ["SCHEMA_VERSION", "open_store"]
