"""Redis as the shared cache, and the site still up when Redis is not.

Everything the site keeps in the cache can be made again from the database:
pages, the content generation, who is editing what, the arXiv rate limit. So
when Redis cannot be reached, a read is a miss and a write is skipped, with a
warning in the log, and readers are served from the database instead of
getting a 500. Redis errors other than a lost connection still raise.

A write skipped during an outage may have been an invalidation (a content
generation forgotten after an edit). The process remembers that it lost one,
and the page cache starts a new generation once Redis answers again
(``consume_lost_writes``), so no page cached before the edit is served after it.
"""

import contextlib
import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
# At most one warning per process in this many seconds: an outage would
# otherwise write one per cache call.
WARNING_INTERVAL = 10.0

_lost_writes = threading.Event()
_last_warning = 0.0


def consume_lost_writes():
    """True once after a write to the cache was lost to an outage (see module docstring)."""
    if _lost_writes.is_set():
        _lost_writes.clear()
        return True
    return False


def _warn(operation, error):
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARNING_INTERVAL:
        _last_warning = now
        logger.warning("cache unreachable, %s skipped: %s", operation, error)


@contextlib.contextmanager
def _unless_unreachable(operation, *, write=False):
    """Run the block; if Redis cannot be reached, log it and go on after it."""
    try:
        yield
    except UNREACHABLE as error:
        _warn(operation, error)
        if write:
            _lost_writes.set()


class ReusedClientsRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one ``redis.Redis`` per connection pool.

    Django makes a new ``redis.Redis`` for every cache call, and redis-py's
    constructor fills a table of some 170 response callbacks each time: about
    a quarter of a millisecond per call, more than the round trip to Redis on
    loopback, and a page cache hit is one call. A ``redis.Redis`` is a thin,
    thread-safe front to its pool (which takes care of forks), so it can be
    kept; the pools are Django's, unchanged.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class FailSoftRedisCache(RedisCache):
    """Django's RedisCache, but an unreachable Redis is a miss, not an error."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientsRedisCacheClient

    def get(self, key, default=None, version=None):
        with _unless_unreachable("get"):
            return super().get(key, default, version)
        return default

    def get_many(self, keys, version=None):
        with _unless_unreachable("get_many"):
            return super().get_many(keys, version)
        return {}

    def has_key(self, key, version=None):
        with _unless_unreachable("has_key"):
            return super().has_key(key, version)
        return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        with _unless_unreachable("set", write=True):
            super().set(key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        with _unless_unreachable("add", write=True):
            return super().add(key, value, timeout, version)
        return False

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        with _unless_unreachable("touch", write=True):
            return super().touch(key, timeout, version)
        return False

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        with _unless_unreachable("set_many", write=True):
            return super().set_many(data, timeout, version)
        return list(data)

    def incr(self, key, delta=1, version=None):
        with _unless_unreachable("incr", write=True):
            return super().incr(key, delta, version)
        return None

    def delete(self, key, version=None):
        with _unless_unreachable("delete", write=True):
            return super().delete(key, version)
        return False

    def delete_many(self, keys, version=None):
        with _unless_unreachable("delete_many", write=True):
            super().delete_many(keys, version)

    def clear(self):
        with _unless_unreachable("clear", write=True):
            return super().clear()
        return False
