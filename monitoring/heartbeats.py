from __future__ import annotations

import datetime as dt

from django.db import close_old_connections
from django.utils import timezone


def record_heartbeat(name: str) -> None:
    from .models import Heartbeat

    # Beat and the worker's timer thread hold long-lived connections; drop a dead one before writing.
    close_old_connections()
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


def recent_heartbeats(prefix: str, within: dt.timedelta) -> list:
    from .models import Heartbeat

    return list(Heartbeat.objects.filter(name__startswith=prefix, seen_at__gte=timezone.now() - within))
