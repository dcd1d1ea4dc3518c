"""Hostile input and leaks: what a public site must survive (issue 6)."""
