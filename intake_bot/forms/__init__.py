"""Readers: bytes in, field values out. No database, no network."""
