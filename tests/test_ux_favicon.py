"""Every page links an SVG favicon from our static files, so browsers stop asking for a missing /favicon.ico."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_link_the_svg_favicon(viewer_client):
    body = viewer_client.get(reverse("pulls:list")).content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in body


def test_the_favicon_file_is_an_svg_in_static():
    path = Path(settings.BASE_DIR) / "static" / "img" / "favicon.svg"
    assert path.read_text().startswith("<svg")
