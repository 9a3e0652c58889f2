"""The JSON body parser: Django's NUL guard (streamflow.middleware) covers paths and query strings; this covers
bodies, where a "\\u0000" in a string would reach PostgreSQL (which cannot store it) as a 500."""

from __future__ import annotations

import json

from django.http import HttpRequest
from ninja.parser import Parser

from .errors import FieldErrors


def _nul_at(data, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) holding a NUL, or None."""
    if isinstance(data, str):
        return path or "body" if "\x00" in data else None
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            if found := _nul_at(value, here):
                return found
    if isinstance(data, list):
        for index, value in enumerate(data):
            if found := _nul_at(value, f"{path}.{index}" if path else str(index)):
                return found
    return None


class RejectNulParser(Parser):
    def parse_body(self, request: HttpRequest):
        data = json.loads(request.body)
        if field := _nul_at(data):
            raise FieldErrors(
                {field.split(".")[0]: ["Contains a NUL character (\\u0000), which no field accepts; remove it."]}
            )
        return data
