"""The maps' shared pieces: Leaflet's assets (from django-leaflet's static files) and the background settings."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def map_assets() -> SafeString:
    """Leaflet and static/js/maps.js, for a page's extra_head block. Never a CDN."""
    return format_html(
        '<link rel="stylesheet" href="{}">\n<script src="{}" defer></script>\n<script src="{}" defer></script>',
        static("leaflet/leaflet.css"),
        static("leaflet/leaflet.js"),
        static("js/maps.js"),
    )


@register.simple_tag
def map_background() -> SafeString:
    """A map element's background, as data attributes: the tiles (MAP_TILE_URL, MAP_TILE_ATTRIBUTION), or with no
    tile URL the US state outlines shipped with the project (static/map/us-states.geojson)."""
    return format_html(
        'data-tile-url="{}" data-tile-attribution="{}" data-outlines-url="{}"',
        settings.MAP_TILE_URL,
        settings.MAP_TILE_ATTRIBUTION,
        static("map/us-states.geojson"),
    )
