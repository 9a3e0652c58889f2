"""The path converter of monitoring-location ids: any stored id, even a malformed one, reverses to one segment.

Importers refuse ids that are not AGENCY-NUMBER, but a row written before that rule (or by hand) must not make
`{% url %}` raise NoReverseMatch on every page that links it: a "/" in one station's id once took the dashboard
down for everyone. `to_url` percent-encodes everything but letters, digits and "-_~" (so a valid id is
unchanged); reverse() then escapes the "%" once more, the server decodes it once, and `to_python` decodes the
rest: the view receives exactly the stored id, and answers 404 for one that cannot be valid.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from django.urls import register_converter


class MonitoringLocationIdConverter:
    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        # "." too: a segment ".." would be resolved away by the browser. "-": the segment of an empty id.
        return quote(str(value), safe="").replace(".", "%2E") or "-"


register_converter(MonitoringLocationIdConverter, "location_id")
