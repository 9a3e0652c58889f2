"""How many CSV exports one user may stream at once, counted across every web process: EXPORTS_PER_USER slots of
the "exports" pool (streamflow/slots.py). The Data page's CSV export and the API's values stream share them
(monitoring/streams.py).
"""

from __future__ import annotations

from django.conf import settings

from streamflow import slots
from streamflow.slots import Slot

__all__ = ["Slot", "acquire", "exports_per_user"]


def exports_per_user() -> int:
    return settings.EXPORTS_PER_USER


def acquire(user_id: int, limit: int | None = None, pool: str = "exports") -> Slot | None:
    """A free export slot of this user's `limit` (EXPORTS_PER_USER), or None when all are held (answer 429)."""
    return slots.acquire(user_id, exports_per_user() if limit is None else limit, pool)
