"""The site's WSGI application with the recovery of lost cache writes switched off.

Only for showing that the soak can fail: ``python -m bench.soak.run
--without-lost-write-recovery`` serves this instead of ``digestsite.wsgi``.
operations.fail_soft_cache remembers a cache write lost while Redis was down (perhaps
the forgetting of a content generation after an edit), and reading.page_cache
starts a new generation when Redis answers again. Without that, Redis
restarted from its snapshot serves pages cached before the edits made during
the outage, and the soak's freshness check must report them as stale.
"""

import reading.page_cache
from digestsite.wsgi import application

if not hasattr(reading.page_cache, "consume_lost_writes"):
    raise ImportError(
        "reading.page_cache.consume_lost_writes is gone: update bench/soak/wsgi_without_recovery.py"
    )
reading.page_cache.consume_lost_writes = lambda: False

__all__ = ["application"]
