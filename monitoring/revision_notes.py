"""USGS's revision notes (time-series-revisions, fetched by acquisition.normals) beside a list of revisions: a note
is shown where its revised period overlaps a revision listed, once per station and note (USGS writes one row per
affected series). A daily value's date is its station's local day, so the whole day is tested against the note's
UTC period (§B.6)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from acquisition.models import RevisionNote


@dataclass
class ShownNote:
    note: RevisionNote
    revisions: int  # revisions listed that fall in its period


def _span(when: dt.date | dt.datetime, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    if isinstance(when, dt.datetime):
        return when, when
    start = dt.datetime.combine(when, dt.time.min, tz)
    return start, start + dt.timedelta(days=1)


def notes_for(revisions) -> list[ShownNote]:
    """The notes whose period overlaps any of `revisions` (ValueRevision rows with `.series` and `.when`)."""
    by_series: dict[int, list] = {}
    series_of: dict[int, object] = {}
    for r in revisions:
        by_series.setdefault(r.series.pk, []).append(r.when)
        series_of[r.series.pk] = r.series
    if not by_series:
        return []
    ids = {s.time_series_id: pk for pk, s in series_of.items()}
    rows = RevisionNote.objects.filter(Q(series__in=list(by_series)) | Q(time_series_id__in=list(ids)))
    shown: dict[tuple, ShownNote] = {}
    for note in rows.select_related("location").order_by("-end", "pk"):
        pk = note.series_id if note.series_id in by_series else ids.get(note.time_series_id)
        if pk is None or note.begin is None or note.end is None:
            continue
        tz = series_of[pk].location.zone or dt.UTC
        count = 0
        for when in by_series[pk]:
            start, end = _span(when, tz)
            count += start <= note.end and end >= note.begin
        if count:
            key = (note.location_id, note.note, note.begin, note.end)
            if key in shown:
                shown[key].revisions += count
            else:
                shown[key] = ShownNote(note, count)
    return list(shown.values())
