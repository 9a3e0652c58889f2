"""`next` parameters send the browser back only to a path on this site."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from streamflow.navigation import safe_next_url


@pytest.mark.parametrize(
    "candidate, expected",
    [
        ("/stations/?state=MD", "/stations/?state=MD"),
        ("https://evil.example/", "/default/"),
        ("//evil.example/", "/default/"),
        ("stations:search", "/default/"),  # redirect() would take a bare word for a view name
        ("/a\x00b", "/default/"),
        ("", "/default/"),
    ],
)
def test_it_keeps_only_local_paths(candidate, expected):
    request = RequestFactory().post("/x/", {"next": candidate})
    assert safe_next_url(request, "/default/") == expected
