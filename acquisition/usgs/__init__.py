"""The USGS Water Data OGC API v1 client and its errors: Django-free, so the catalog import uses it without the
engine (``client`` the queries, ``transport`` the HTTP side, ``parsers`` the answers, ``errors`` what goes wrong)."""

from acquisition.usgs.client import (
    DEFAULT_BASE_URL,
    MAX_CONTINUOUS_WINDOW_DAYS,
    MAX_URL_BYTES,
    READING_PROPERTIES,
    USGSClient,
)
from acquisition.usgs.errors import USGSBadRequest, USGSError, USGSRateLimited, USGSTransient

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_CONTINUOUS_WINDOW_DAYS",
    "MAX_URL_BYTES",
    "READING_PROPERTIES",
    "USGSBadRequest",
    "USGSClient",
    "USGSError",
    "USGSRateLimited",
    "USGSTransient",
]
