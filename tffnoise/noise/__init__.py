"""Noise mechanisms: distributions, schedules and the places noise goes (see registry.py)."""
