"""django-celery-beat's DatabaseScheduler, plus a heartbeat so /health/ can tell that beat is ticking."""

from __future__ import annotations

import logging
import time

from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)


class HeartbeatScheduler(DatabaseScheduler):
    heartbeat_every = 15.0
    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._last_heartbeat >= self.heartbeat_every:
            self._last_heartbeat = now
            try:
                from django.db import close_old_connections

                from streamflow.signals import process_alive

                # Beat holds one long-lived connection; drop it if the server closed it meanwhile.
                close_old_connections()
                process_alive.send(sender=HeartbeatScheduler, name="beat")  # monitoring records it
            except Exception:
                logger.warning("could not record beat heartbeat", exc_info=True)
        # Never sleep longer than the heartbeat interval, so the heartbeat stays fresh.
        return min(super().tick(*args, **kwargs), self.heartbeat_every)
