"""gunicorn settings for production (deploy/systemd/paper-digest.service).

Sync workers: the site's work is short database reads and template
rendering, and Redis makes each worker's cache the same, so workers (and
machines) can be added freely. Read by `gunicorn -c deploy/gunicorn.conf.py`.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# A request that takes longer than this is stuck (the slowest page takes well
# under a second): the worker is replaced rather than left holding a slot.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Workers are recycled now and then, so no slow leak lives for weeks.
max_requests = 5000
max_requests_jitter = 500
# Heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm"
# Only the load balancer or nginx on this machine may set X-Forwarded-*.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Access lines and errors on standard error, for journald.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
