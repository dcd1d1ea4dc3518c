"""Hostile input and leaks: what a public site must survive (docs/deployment.md,
"What this repository's tests prove")."""
