"""A local fake of the USGS Water Data OGC API v1 for tests and demos (``python -m tests.fakeusgs``)."""

from __future__ import annotations

from tests.fakeusgs.data import FakeStation, default_catalog, series_id_for, synthetic_catalog
from tests.fakeusgs.server import FakeUSGS, Faults, Gate, RequestRecord

__all__ = [
    "FakeStation",
    "FakeUSGS",
    "Faults",
    "Gate",
    "RequestRecord",
    "default_catalog",
    "series_id_for",
    "synthetic_catalog",
]
