"""Shared machinery used by every stage: atomic file writes, seeding."""
