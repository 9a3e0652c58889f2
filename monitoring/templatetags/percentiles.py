"""How unusual is today, in templates of other apps (stations' page, pulls' configuration page): they load these
tags rather than import monitoring (the apps' layers, pyproject's import contract)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from acquisition.models import NormalsFetch
from monitoring.percentile_views import describe
from monitoring.percentiles import CLASSES, Ranking, station_rankings

register = template.Library()


@register.inclusion_tag("monitoring/station_percentile.html", takes_context=True)
def station_percentile(context, location) -> dict:
    """The station page's "How unusual is today" section: the class of its newest daily value, the date, why not
    ranked, when the normals were fetched, and the Operators' refresh button."""
    ranking = station_rankings([location.pk])[location.pk]
    request = context.get("request")
    fetched = NormalsFetch.objects.filter(series=ranking.series).first() if ranking.series else None
    return {
        "location": location,
        "ranking": ranking,
        "detail": describe(ranking),
        "fetched": fetched,
        "classes": CLASSES,
        "can_refresh": bool(request and request.user.has_perm("pulls.run_pullconfiguration")),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def percentile_rankings(rows) -> dict[int, Ranking]:
    """Location pk → ranking for table rows that have a `.location` (one set of queries for the page)."""
    return station_rankings([row.location.pk for row in rows])


@register.simple_tag
def percentile_badge(rankings: dict, location) -> str:
    ranking = rankings.get(location.pk)
    if ranking is None:
        return ""
    cls = ranking.cls
    return format_html(
        '<span class="badge percentile-badge" data-class="{}" style="background-color:{};color:{}" title="{}">{}'
        "</span>",
        cls.key,
        cls.color,
        cls.text,
        describe(ranking),
        ranking.label,
    )
