"""Helpers tests share that are not fixtures (those live in the conftest.py
files) and not test data (tests/factories.py): imported by test modules, which
never import one another."""
