"""Cold in-process rendering of the public pages (``python -m bench.render.run``)."""
