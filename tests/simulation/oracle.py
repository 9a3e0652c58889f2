"""What the mirror must hold, decided from the fake's truth and what the runs said they did.

Definitions (the invariants tests/simulation/machine.py checks after every step)
---------------------------------------------------------------------------

Epochs. Every change of what the fake serves (its clock moves, USGS revises or approves a value) starts a new epoch;
`FakeUSGS.truth_as_of(site, kind, start, end, epoch)` says what it served then. A run's answers are computed at or
after the epoch in which the pull that brought them started (a held-back answer is computed when released, later).

Claims. A successful pull of a station is a promise about a range of its series (the series is shared: stored rows
are keyed on (series, time), whichever configuration wrote them):
- an append or overwrite run that ends a station `succeeded` promises its configured range: from the run's start
  date (its snapshot of the configuration; the station's local midnight for continuous series) through the
  station's progress after the run. Rule 1 (window from progress) plus rule 2 (revisions since the last success)
  plus the start date as revision floor make every row of that range current as of the run's pull;
- a re-pull (backfill) that ends a station `succeeded` promises its date range, in the station's own days, clipped
  to the run's start date (nothing before the start date is ever stored) and to the rows that existed when it
  pulled.
A claim is (lo, hi, epoch). It never expires: values only get newer, rows never vanish at USGS.

"Truth as of that run". A stored row at time t covered by claims must equal (value, qualifiers, approval status)
the fake's row at t in SOME epoch e with e_min(t) <= e <= now, where e_min(t) is the newest epoch among the claims
covering t. Older is stale: a configuration whose last success promised t as of e_min must not see an older
version there, whoever wrote it (a held-back answer of another configuration committed later included). Newer is
fine: another configuration or a re-pull may have brought a later revision. Every row of the fake within a claim
must be stored (no hole), once (no duplicate).

Everything stored:
- lies on or after the floor of its series: the earliest start date that any configuration holding the station
  with that data type has ever had, in the station's days (nothing outside every configuration's range);
- is a row the fake served in some epoch (no invented time, no value USGS never had).

Progress (per configuration and station): the row at the station's progress is stored (progress never ahead of
what is stored). Completeness right after a success is checked by the machine (progress reached the newest row
that existed when the run pulled, within the run's window).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from acquisition.planning import local_midnight
from tests.fakeusgs import FakeUSGS
from tests.simulation import engine

Instant = dt.date | dt.datetime


@dataclass(frozen=True)
class Claim:
    lo: Instant
    hi: Instant
    epoch: int
    why: str


@dataclass
class SeriesBook:
    site: str
    kind: str
    zone: dt.tzinfo
    floor: dt.date | None = None
    claims: list[Claim] = field(default_factory=list)


def day_start(day: dt.date, kind: str, zone: dt.tzinfo) -> Instant:
    return day if kind == engine.DAILY else local_midnight(day, zone)


def day_end(day: dt.date, kind: str, zone: dt.tzinfo) -> Instant:
    if kind == engine.DAILY:
        return day
    return local_midnight(day + dt.timedelta(days=1), zone) - dt.timedelta(microseconds=1)


def _key(row: dict) -> tuple:
    return (row["value"], row["qualifiers"], row["approval_status"])


class Oracle:
    def __init__(self, fake: FakeUSGS) -> None:
        self.fake = fake
        self.books: dict[tuple[str, str], SeriesBook] = {}
        self.checks = 0

    def book(self, site: str, kind: str, zone: dt.tzinfo) -> SeriesBook:
        return self.books.setdefault((site, kind), SeriesBook(site, kind, zone))

    def lower_floor(self, site: str, kind: str, zone: dt.tzinfo, day: dt.date) -> None:
        book = self.book(site, kind, zone)
        if book.floor is None or day < book.floor:
            book.floor = day

    def claim(self, site: str, kind: str, zone: dt.tzinfo, lo: Instant, hi: Instant, epoch: int, why: str) -> None:
        if lo <= hi:
            self.book(site, kind, zone).claims.append(Claim(lo, hi, epoch, why))

    def newest_at(self, site: str, kind: str, epoch: int, before: Instant | None = None) -> Instant | None:
        """The newest row of the series that existed in `epoch` (and strictly before `before`: an instant, or for a
        daily series a date)."""
        clock = self.fake.clock_log[epoch]
        start = (clock - dt.timedelta(days=3)).date() if kind == engine.DAILY else clock - dt.timedelta(days=3)
        rows = self.fake.truth_as_of(site, kind, start, None, epoch)
        if before is not None:
            rows = [r for r in rows if r["time"] < before]
        return rows[-1]["time"] if rows else None

    # -- the check -------------------------------------------------------------------------------------------

    def problems(self) -> list[str]:
        out = []
        for book in self.books.values():
            self.checks += 1
            out += self._series_problems(book)
        return out

    def _series_problems(self, book: SeriesBook) -> list[str]:
        fake, site, kind = self.fake, book.site, book.kind
        series_id = fake.primary_series_id(site, kind)
        stored, dupes = engine.stored(series_id, kind)
        label = f"{site} {kind}"
        out = []
        if dupes:
            out.append(f"[duplicate] {label}: {dupes} times stored more than once")
        if not stored and not book.claims:
            return out
        floor = None if book.floor is None else day_start(book.floor, kind, book.zone)
        below = sorted(t for t in stored if floor is None or t < floor)
        if below:
            out.append(
                f"[before-start] {label}: {len(below)} values stored before the earliest start date any "
                f"configuration of it ever had ({book.floor}): first {below[0]}, last {below[-1]}"
            )
        times = list(stored) + [c.lo for c in book.claims]
        lo = min(times)
        now_rows = {r["time"]: r for r in fake.truth_as_of(site, kind, lo, None)}
        required: dict[Instant, Claim] = {}
        for claim in book.claims:
            for t in now_rows:
                if claim.lo <= t <= claim.hi and (t not in required or required[t].epoch < claim.epoch):
                    required[t] = claim
        missing = sorted(t for t in required if t not in stored)
        if missing:
            why = required[missing[0]].why
            out.append(
                f"[missing] {label}: {len(missing)} values missing from a promised range (first {missing[0]}, last "
                f"{missing[-1]}; promised by {why})"
            )
        stale, invented = [], []
        for t, value in stored.items():
            row = now_rows.get(t)
            if row is None:
                invented.append(t)
                continue
            if value == _key(row):
                continue
            claim = required.get(t)
            oldest = 0 if claim is None else claim.epoch
            if not self._any_version(site, kind, t, value, oldest):
                (stale if claim is not None else invented).append(t)
        if stale:
            t = stale[0]
            claim = required[t]
            out.append(
                f"[stale] {label}: {len(stale)} values older than promised (first {t}: stored {stored[t]}, USGS "
                f"{_key(now_rows[t])} now; promised as of epoch {claim.epoch} by {claim.why})"
            )
        if invented:
            t = sorted(invented)[0]
            out.append(f"[invented] {label}: {len(invented)} stored values USGS never served (first {t}: {stored[t]})")
        return out

    def _any_version(self, site: str, kind: str, t: Instant, value: tuple, oldest: int) -> bool:
        for epoch in range(self.fake.epoch, oldest - 1, -1):
            rows = self.fake.truth_as_of(site, kind, t, t, epoch)
            if rows and _key(rows[0]) == value:
                return True
        return False
