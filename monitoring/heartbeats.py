from __future__ import annotations

import datetime as dt

from django.utils import timezone


def record_heartbeat(name: str) -> None:
    from acquisition.models import Heartbeat

    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


def recent_heartbeats(prefix: str, within: dt.timedelta) -> list:
    from acquisition.models import Heartbeat

    return list(Heartbeat.objects.filter(name__startswith=prefix, seen_at__gte=timezone.now() - within))
