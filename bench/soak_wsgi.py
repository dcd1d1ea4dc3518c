"""The site's WSGI application with the recovery of lost cache writes switched off.

Only for showing that the soak can fail: ``bench/soak.py
--without-lost-write-recovery`` serves this instead of ``digestsite.wsgi``.
digestsite.cache remembers a cache write lost while Redis was down (perhaps
the forgetting of a content generation after an edit), and papers.caching
starts a new generation when Redis answers again. Without that, Redis
restarted from its snapshot serves pages cached before the edits made during
the outage, and the soak's freshness check must report them as stale.
"""

import papers.caching
from digestsite.wsgi import application

if not hasattr(papers.caching, "consume_lost_writes"):
    raise ImportError("papers.caching.consume_lost_writes is gone: update bench/soak_wsgi.py")
papers.caching.consume_lost_writes = lambda: False

__all__ = ["application"]
