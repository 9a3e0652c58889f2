"""A list column that works on both databases: a native array on PostgreSQL, JSON text on SQLite.

`django.contrib.postgres.fields.ArrayField` is PostgreSQL-only, and `make run` / `make test` run on SQLite. The
revision history (`acquisition.RevisionSet`) keeps parallel lists written by the storage upsert in SQL
(`array_agg` on PostgreSQL, `json_group_array` on SQLite), so the column only has to store and load them: no
lookups, no forms.
"""

from __future__ import annotations

import datetime as dt
import json

from django.db import models
from django.utils import timezone


class ListField(models.Field):
    """A list of `base_field` values: `base_field[]` on PostgreSQL, a JSON array (as text) elsewhere."""

    empty_strings_allowed = False

    def __init__(self, base_field: models.Field, **kwargs):
        self.base_field = base_field
        super().__init__(**kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["base_field"] = self.base_field.clone()
        return name, path, args, kwargs

    def db_type(self, connection) -> str:
        if connection.vendor == "postgresql":
            return f"{self.base_field.db_type(connection)}[]"
        return "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if connection.vendor == "postgresql":
            return [self.base_field.get_db_prep_value(v, connection, prepared=False) for v in value]
        return json.dumps([_json_element(v) for v in value])

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite's JSON text
            value = json.loads(value)
            if isinstance(self.base_field, models.DateTimeField):
                return [None if v is None else _utc(dt.datetime.fromisoformat(v)) for v in value]
            if isinstance(self.base_field, models.DateField):
                return [None if v is None else dt.date.fromisoformat(v) for v in value]
            return value
        if isinstance(self.base_field, models.JSONField):
            # Django loads jsonb as text (JSONField decodes it itself), and so the elements of a jsonb[].
            return [json.loads(v) if isinstance(v, str) else v for v in value]
        return value

    def to_python(self, value):
        if isinstance(value, str):
            return json.loads(value)
        return value

    def value_to_string(self, obj) -> str:
        return json.dumps([_json_element(v) for v in self.value_from_object(obj) or []])


def _utc(value: dt.datetime) -> dt.datetime:
    return timezone.make_aware(value, dt.UTC) if timezone.is_naive(value) else value


def _json_element(value):
    # The text Django's SQLite backend stores for a date or an instant (UTC, naive), so both sides agree.
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
