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
