"""The "API tokens" page: a user creates, names and revokes their own tokens."""

from __future__ import annotations

import logging

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from streamflow.models import ApiToken

logger = logging.getLogger(__name__)

MAX_ACTIVE_TOKENS = 20


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        label="Name",
        help_text="What it is for, so you know which to revoke later, e.g. “notebook on my laptop”.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. nightly backfill script"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if ApiToken.objects.active().filter(user=self.user, name__iexact=name).exists():
            raise forms.ValidationError("You already have a token with this name; choose another, or revoke that one.")
        return name

    def clean(self) -> dict:
        if ApiToken.objects.active().filter(user=self.user).count() >= MAX_ACTIVE_TOKENS:
            raise forms.ValidationError(f"You have {MAX_ACTIVE_TOKENS} tokens; revoke one you no longer use first.")
        return super().clean()


# Any signed-in user: a token acts with its user's roles, so an account without a role gets a token that can read
# nothing, as its session can.
@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    created = None
    form = TokenForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        token, created = ApiToken.issue(request.user, form.cleaned_data["name"])
        logger.info("API token %s (%s) created by %s", token.pk, token.name, request.user)
        form = TokenForm(user=request.user)
    # Rendered, not redirected: the token is shown this once and kept nowhere, not even in the session.
    context = {
        "form": form,
        "created": created,
        "tokens": ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at", "-pk"),
    }
    return render(request, "streamflow/api_tokens.html", context)


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Someone else's token is a 404: its existence is not theirs to learn.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        logger.info("API token %s (%s) revoked by %s", token.pk, token.name, request.user)
        messages.success(request, f"Revoked “{token.name}”: requests with it now get 401.")
    return redirect("api_tokens")
