"""Requests per second and latency of the public pages under gunicorn and wrk."""
