"""The benchmarks: one package per benchmark, one shared site server.

Every script is a module of this package, run from the project folder with
``python -m`` (so the project's apps and ``bench`` import alike, with no
``sys.path`` edits)::

    .venv/bin/python -m bench.http.load --help      # make bench
    .venv/bin/python -m bench.soak.run --help       # make soak
    .venv/bin/python -m bench.search.latency --help # make bench-search

- ``bench.common``: the site under gunicorn as in production (site_server), the
  admin form as a browser submits it (admin_form), scratch databases (scratch).
- ``bench.http``: requests/s and latency under wrk (docs/benchmarks.md).
- ``bench.soak``: load while PostgreSQL restarts and Redis stops (docs/soak.md).
- ``bench.search``: the search queries' own latency (docs/search-benchmark.md).
"""
