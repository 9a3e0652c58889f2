"""Per-user slots: how many of one kind of expensive request (a streamed export, a quality page, the station
map's points) one user may have running at once, counted across every web process.

A slot is a lock that its holder's process keeps while the request runs and that the operating system or the
database drops if the process dies, so a crashed worker never leaks one: a PostgreSQL advisory lock (on the
request's connection; all web processes and hosts share the database) or, on SQLite, an flock() on a file under
var/ (all web processes of one host). Each kind is a pool with its own slots: exports (monitoring/export_limits.py),
quality pages (monitoring/heavy_pages.py), map points (stations/map_views.py).
"""

from __future__ import annotations

import fcntl
import gc
import os
import threading
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse

from .responses import plain_error

# The first key of our advisory locks, one per pool of slots. Keep the numbers: processes of the previous release
# may still hold locks under them during a rolling deploy.
NAMESPACES = {"exports": 0x5F_E7, "heavy": 0x5F_E8, "map": 0x5F_E9}
RETRY_AFTER = 10  # seconds: a hint for a 429; a heavy request takes seconds, not minutes
# Advisory locks are re-entrant within one database session: keys this process holds are skipped, so two requests
# that happen to share a connection (one thread serving both, a test) still count as two.
_held_here: set[tuple[int, int]] = set()
_held_lock = threading.RLock()
# Slots whose response was dropped without close(), released at the next acquire(): a finalizer may run at any
# allocation, in any thread, even while this thread's connection is mid-query, so it must not run SQL itself.
_pending: list[Slot] = []
_pending_lock = threading.Lock()


class Slot:
    """One held slot; release() is idempotent (called when the response closes)."""

    def __init__(self, release, *, safe_anywhere: bool = False) -> None:
        self._release = release
        self._safe_anywhere = safe_anywhere  # True: releasing is a system call, fine from any thread at any moment

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def release_soon(self) -> None:
        """For a finalizer: release now if that is safe anywhere, else at this process's next acquire()."""
        if self._safe_anywhere:
            self.release()
        else:
            with _pending_lock:
                _pending.append(self)


def _release_pending() -> None:
    with _pending_lock:
        slots = _pending[:]
        _pending.clear()
    for slot in slots:
        slot.release()


def acquire(user_id: int, limit: int, pool: str) -> Slot | None:
    """A free slot of this user's `limit` in `pool`, or None when all are held (the caller answers 429)."""
    _release_pending()
    for attempt in range(2):
        for index in range(limit):
            if connection.vendor == "postgresql":
                slot = _try_advisory(NAMESPACES[pool], user_id, index)
            else:
                slot = _try_file(pool, user_id, index)
            if slot is not None:
                return slot
        if attempt == 0:
            # A response dropped without close() (an exception after the view returned it) frees its slot when it
            # is collected (monitoring/streams.py): collect once before refusing.
            gc.collect()
            _release_pending()
    return None


def _try_advisory(namespace: int, user_id: int, index: int) -> Slot | None:
    key = (user_id * 16 + index) % 2**31  # int4; 16 slots a user is far more than anyone configures
    held = (namespace, key)
    with _held_lock:
        if held in _held_here:
            return None
        _held_here.add(held)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
            (taken,) = cursor.fetchone()
    except BaseException:
        _forget(held)
        raise
    if not taken:
        _forget(held)
        return None
    db = connection.connection  # the session holding the lock

    def release() -> None:
        try:
            if connection.connection is db and db is not None and not db.closed:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])
            # else: that session has ended, and its locks with it
        finally:
            _forget(held)

    return Slot(release)


def _forget(held: tuple[int, int]) -> None:
    with _held_lock:
        _held_here.discard(held)


def _lock_dir() -> Path:
    return settings.VAR_DIR / "export-slots"  # the name from when exports were the only pool


def _try_file(pool: str, user_id: int, index: int) -> Slot | None:
    directory = _lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"user-{user_id}-{index}.lock" if pool == "exports" else f"{pool}-user-{user_id}-{index}.lock"
    fd = os.open(directory / name, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None

    def release() -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return Slot(release, safe_anywhere=True)


def heavy_read(pool: str, busy: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view decorator: hold one of the user's HEAVY_PAGES_PER_USER slots of `pool` while the view runs (put it
    below the permission check). One more is a 429 with Retry-After straight away, saying `busy` (a sentence with
    "{limit}" in it), instead of a thread and a query."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            limit = settings.HEAVY_PAGES_PER_USER
            slot = acquire(request.user.pk, limit, pool)
            if slot is None:
                response = plain_error(busy.format(limit=limit), 429)
                response["Retry-After"] = str(RETRY_AFTER)
                return response
            try:
                return view(request, *args, **kwargs)
            finally:
                slot.release()

        return wrapped

    return decorator
