"""The USGS client as the app uses it: configured from settings, throttled by a token bucket every worker shares.

The api.data.gov gateway counts requests per key per hour across all our processes, so a per-process limiter would
let N workers spend N times the quota. The bucket lives in the database (one row, refilled lazily under a row lock),
which works the same on SQLite and PostgreSQL and needs no extra service.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from acquisition.models import RateLimitBucket
from acquisition.usgs import USGSClient

USER_AGENT = "streamflow-dataops/0.1 (+https://github.com/streamflow-dataops)"
BUCKET_NAME = "usgs"
MAX_SINGLE_WAIT = 5.0  # seconds; re-check the bucket at least this often (others may have stopped using it)


class DatabaseTokenBucket:
    """Allows `per_hour` requests an hour on average, in bursts of up to `capacity`, across every process.

    Calling the bucket takes one token, sleeping until one is available. Each take is one short transaction that
    locks the bucket's row; it never runs inside a caller's transaction (the client calls it before each request,
    outside the station's commit).
    """

    def __init__(
        self,
        per_hour: int,
        *,
        name: str = BUCKET_NAME,
        capacity: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        if per_hour <= 0:
            raise ValueError("per_hour must be positive")
        self.name = name
        self.rate = per_hour / 3600.0  # tokens per second
        # A minute's worth of burst: stations start quickly, and a full hour's quota can never go in one burst.
        self.capacity = capacity if capacity is not None else max(1.0, per_hour / 60.0)
        self.sleep = sleep
        self.on_wait = on_wait

    def try_take(self, now: datetime | None = None) -> float:
        """Take a token if one is there: 0.0. Otherwise the seconds until one will be."""
        now = now or timezone.now()
        with transaction.atomic():
            bucket, _ = RateLimitBucket.objects.select_for_update().get_or_create(
                name=self.name, defaults={"tokens": self.capacity, "updated_at": now}
            )
            elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
            tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            RateLimitBucket.objects.filter(pk=bucket.pk).update(tokens=tokens, updated_at=max(now, bucket.updated_at))
        return wait

    def __call__(self) -> None:
        while (wait := self.try_take()) > 0:
            if self.on_wait is not None:
                self.on_wait(wait)
            self.sleep(min(wait, MAX_SINGLE_WAIT))


def build_client(
    on_event: Callable[[str, str, dict], None] | None = None,
    *,
    on_throttle_wait: Callable[[float], None] | None = None,
    **overrides,
) -> USGSClient:
    """A USGSClient for USGS_API_URL / USGS_API_KEY / USGS_PAGE_LIMIT, throttled by the shared bucket."""
    options = {
        "limit": settings.USGS_PAGE_LIMIT,
        "user_agent": USER_AGENT,
        "throttle": DatabaseTokenBucket(settings.USGS_REQUESTS_PER_HOUR, on_wait=on_throttle_wait),
        "on_event": on_event,
        "backoff_base": settings.USGS_BACKOFF_BASE,  # tests shorten it (the fake answers 500s on purpose)
        "max_body_bytes": settings.USGS_MAX_BODY_MB * 2**20,
        "deadline": settings.USGS_REQUEST_DEADLINE_SECONDS,
        "max_pages": settings.USGS_MAX_PAGES,
    }
    options.update(overrides)
    return USGSClient(settings.USGS_API_URL, settings.USGS_API_KEY or None, **options)
