"""Pure parsing: bytes of mail in, frozen dataclasses out; no database, no network."""
