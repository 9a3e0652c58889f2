from __future__ import annotations

from django import template

register = template.Library()

BADGES = {
    "succeeded": "text-bg-success",
    "failed": "text-bg-danger",
    "partial": "text-bg-warning",
    "running": "text-bg-primary",
    "queued": "text-bg-info",
    "pending": "text-bg-info",
}


@register.filter
def status_badge(status: str) -> str:
    """Bootstrap badge class of a run or station status (a filter: the live poll renders it for every station)."""
    return BADGES.get(status, "text-bg-secondary")


@register.filter
def duration(value) -> str:
    """A timedelta for people: "45 s", "2 min 5 s", "1 h 3 min"; "—" when there is none."""
    if value is None or value == "":
        return "—"
    seconds = value.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
