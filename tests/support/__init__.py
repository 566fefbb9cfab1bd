"""Test support: the real broker, real databases, real processes and a real HTTP receiver."""
