"""Personal API tokens (DESIGN §12). They live in the kernel: a token belongs to a user, not to one of the data
apps; the API app that reads them (api/) sits above the apps, and the tables keep their names. This module also lets
post_migrate reach StreamflowConfig (see streamflow/roles.py: ensure_groups)."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

TOKEN_PREFIX = "sfd_"  # tells a Streamflow token apart in a config file or a secret scanner


def hash_token(plaintext: str) -> str:
    """sha256 of the token: a random 256-bit secret needs no slow hash, and a lookup by hash is one index probe."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A personal token: it acts as its user, with the user's roles as they are at each request."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="What it is for, e.g. “notebook on my laptop”.")
    # Only the hash is stored; the token itself is shown once, when created.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, so a user can tell their tokens apart on the page (not enough to guess the rest).
    prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Lookups by key_hash are served by its unique index; the tokens page lists one user's by user_id.

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        """Create a token for `user`; returns the row and the plaintext (never stored, shown once)."""
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=hash_token(plaintext), prefix=plaintext[:10])
        return token, plaintext


class RateWindow(models.Model):
    """The API's rate limit (api/auth.py): requests counted in the current minute for one key — a user
    ("user:12", over all their tokens and the session) or a client address ("address:203.0.113.7", every call,
    failed ones included). Counted with conditional UPDATEs, so every web process counts against the same number."""

    key = models.CharField(max_length=64, unique=True)  # the unique index serves the per-request UPDATE
    window_start = models.DateTimeField(db_index=True)  # serves the purge of windows long past
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} since {self.window_start:%H:%M}"
