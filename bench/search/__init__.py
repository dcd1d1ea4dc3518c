"""Latency of the search queries on a large generated archive."""
