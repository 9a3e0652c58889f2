"""bench/ingest.py's measure of what the revision history costs the upsert: pairs of stores with and without it."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from common import empty, timed


@dataclass
class HistoryCost:
    """The half-changed rerun's store with and without the history: best of each, and each round's ratio, in wall
    seconds and in CPU seconds (this process plus its PostgreSQL backend, when the server is on this machine)."""

    written: int = 0
    wall: dict = field(default_factory=lambda: {True: float("inf"), False: float("inf")})
    cpu: dict = field(default_factory=lambda: {True: float("inf"), False: float("inf")})
    wall_ratios: list = field(default_factory=list)
    cpu_ratios: list = field(default_factory=list)

    def overhead(self, of: dict) -> float:
        return of[True] / of[False] - 1


def backend_cpu(pid: int) -> float | None:
    """CPU seconds the PostgreSQL backend `pid` has used (utime + stime), or None when it is not on this machine.
    On a shared VM, CPU time is what a noisy neighbour moves least: wall time there swung ±30 % round to round."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def history_pair(kind: str, table: str, first: dict, half: dict, *, rounds: int, aa: bool = False) -> HistoryCost:
    """The half-changed rerun's store alone (the upsert: readings parsed beforehand) with the history and without,
    in `rounds` pairs of alternating order, each store from a freshly loaded table. `aa`: neither store of a pair
    records the history (an A/A check of the harness)."""
    from django.db import connection, transaction

    from acquisition import storage
    from acquisition.models import RevisionSet

    def store(parsed: dict[int, list]) -> None:
        for series_pk, rows in parsed.items():
            with transaction.atomic():  # one station's commit, as a pull makes it
                storage.store_readings(kind, series_pk, rows)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    revisions = RevisionSet._meta.db_table
    cost = HistoryCost()
    for round_ in range(rounds):
        # Pairs in alternating order (without, with), (with, without), …, each store from a table loaded afresh:
        # reset by rewriting the values, the table grew from store to store, and in an A/A test the second store
        # of every pair came out ~10 % slower.
        seconds = {}
        for history in (False, True) if round_ % 2 == 0 else (True, False):
            storage.RECORD_REVISIONS = False
            empty(table)
            store(first)  # the first load's values (COPY into the empty range), untimed and unrecorded
            empty(revisions)
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {table}")
                cursor.execute("CHECKPOINT")
            storage.RECORD_REVISIONS = history and not aa
            server, client = backend_cpu(pid), time.process_time()
            wall = timed(lambda: store(half))
            after = backend_cpu(pid)
            cpu = time.process_time() - client + (after - server if server is not None and after is not None else 0.0)
            cost.wall[history] = min(cost.wall[history], wall)
            cost.cpu[history] = min(cost.cpu[history], cpu)
            seconds[history] = (wall, cpu)
            if history:
                cost.written = sum(map(len, RevisionSet.objects.values_list("changes", flat=True)))
        cost.wall_ratios.append(seconds[True][0] / seconds[False][0])
        cost.cpu_ratios.append(seconds[True][1] / seconds[False][1])
    storage.RECORD_REVISIONS = True
    return cost
