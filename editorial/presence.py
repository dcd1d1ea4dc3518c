"""Who else has an issue open in the admin, kept in the shared cache.

Each editor's change page records "user U is editing object O" with a
timestamp (on opening, then by a heartbeat from the page, every third of
settings.EDITING_PRESENCE_SECONDS); the page lists the other editors seen
within that window. Leaving the page (``pagehide``) sends a beacon that
removes the editor at once; a closed laptop or a lost connection sends
none, and the window (under a minute) lets the name go soon after. With
Redis as the cache this holds across application servers; with the
development cache, within one process.
"""

import time

from django.conf import settings
from django.core.cache import cache


def display_name(user):
    """How the editors' desk names a staff user everywhere (presence, history,
    merges): the full name, else the user name."""
    return user.get_full_name() or user.get_username()


def _key(obj):
    return f"editing:{obj._meta.label_lower}:{obj.pk}"


def mark_editing(obj, user):
    """Record that ``user`` has ``obj`` open now; forget stale editors."""
    now = time.time()
    window = settings.EDITING_PRESENCE_SECONDS
    editors = {
        user_id: seen
        for user_id, seen in (cache.get(_key(obj)) or {}).items()
        if now - seen[1] < window
    }
    editors[user.pk] = (display_name(user), now)
    cache.set(_key(obj), editors, timeout=window)


def others_editing(obj, user):
    """[(name, seconds ago)] of the other editors who have ``obj`` open."""
    now = time.time()
    return [
        (name, int(now - seen))
        for user_id, (name, seen) in (cache.get(_key(obj)) or {}).items()
        if user_id != user.pk and now - seen < settings.EDITING_PRESENCE_SECONDS
    ]


def heartbeat_seconds():
    """How often the page says it is still open: a third of the window, so
    one lost beat never drops an editor who is still there."""
    return max(5, settings.EDITING_PRESENCE_SECONDS // 3)


def stop_editing(obj, user):
    """Forget that ``user`` has ``obj`` open (the page was left)."""
    editors = cache.get(_key(obj)) or {}
    if editors.pop(user.pk, None) is not None:
        cache.set(_key(obj), editors, timeout=settings.EDITING_PRESENCE_SECONDS)
