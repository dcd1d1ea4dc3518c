"""Read replicas: public pages read from them, everything else from the primary.

With DATABASE_REPLICA_URLS set (settings), each replica is a database alias
``replica1``, ``replica2``... A public page read by a reader tolerates data a
moment old, and such pages are most of the load; an editor in the admin must
read what they just wrote, and the edit-conflict check must see the latest
save. So only reads made while answering a GET or HEAD outside the admin go to
a replica (chosen at random per request); writes, and every read of any other
request, go to the primary. Migrations run on the primary only; replicas get
the schema by replication.
"""

import contextvars
import random

from django.conf import settings

_replica_for_request = contextvars.ContextVar("replica_for_request", default=None)


def replica_aliases():
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


class ReplicaReadsMiddleware:
    """Marks the requests whose reads may go to a replica (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.replicas = replica_aliases()

    def __call__(self, request):
        if not self.replicas or not self.reads_may_lag(request):
            return self.get_response(request)
        token = _replica_for_request.set(random.choice(self.replicas))
        try:
            return self.get_response(request)
        finally:
            _replica_for_request.reset(token)

    @staticmethod
    def reads_may_lag(request):
        return request.method in ("GET", "HEAD") and not request.path.startswith("/admin/")


class PrimaryReplicaRouter:
    """Sends a marked request's reads to its replica, and all else to the primary."""

    def db_for_read(self, model, **hints):
        return _replica_for_request.get() or "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # The replicas hold the primary's data: an object read from one may
        # be linked to an object read from the other.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
