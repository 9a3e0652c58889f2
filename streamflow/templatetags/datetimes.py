"""One way to write times everywhere (issue 13, defect 8): ISO dates, 24-hour times, the zone always named.

{{ run.created_at|datetime_zone }}          2026-03-01 14:05 EST   (in the site's time zone, TIME_ZONE)
{{ run.created_at|datetime_zone:"s" }}      2026-03-01 14:05:09 EST
{{ value.date|iso_date }}                   2026-03-01
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def datetime_zone(value: dt.datetime | None, seconds: str = "") -> str:
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return date_format(local, "Y-m-d H:i:s T" if seconds else "Y-m-d H:i T")


@register.filter
def iso_date(value: dt.date | None) -> str:
    if value is None:
        return ""
    return value.isoformat() if not isinstance(value, dt.datetime) else timezone.localdate(value).isoformat()
