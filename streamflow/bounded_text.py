"""Model fields shared by the apps."""

from __future__ import annotations

from django.db import models


class BoundedTextField(models.TextField):
    """Text from outside (an upstream error message) kept to `max_length` characters on every write.

    A TextField's max_length is only a form rule; this one also cuts longer text, with "…", in save(), update()
    and bulk writes alike (all of them prepare values through get_prep_value), so no writer can store a megabyte
    that every page showing it then renders.
    """

    def __init__(self, *args, max_length: int, **kwargs):
        super().__init__(*args, max_length=max_length, **kwargs)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if isinstance(value, str) and len(value) > self.max_length:
            value = value[: self.max_length - 1] + "…"
        return value
