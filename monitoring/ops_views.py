"""Operators' pages for operations: alert channels and their rules, deliveries, the Celery workers."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from pulls.models import PullConfiguration
from streamflow.htmx import wants_fragment

from . import channels, workers
from .models import RULE_CONDITIONS, AlertChannel, AlertDelivery, AlertRule
from .outbound import check_webhook_url

MANAGE = "monitoring.change_alertchannel"
OPERATE = "pulls.run_pullconfiguration"  # the Operators' permission: who may see the workers
DELIVERIES_SHOWN = 200
SECRET_SESSION_KEY = "new_channel_secret"


def _style(form: forms.BaseForm) -> None:
    """Bootstrap classes, as the other forms have them: boxes as wide as their column, checkbox lists as lists."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
            widget.attrs["class"] = "form-check-input"
        elif isinstance(widget, forms.Select):
            widget.attrs["class"] = "form-select"
        else:
            widget.attrs["class"] = "form-control"


class ChannelForm(forms.ModelForm):
    class Meta:
        model = AlertChannel
        fields = ["name", "kind", "emails", "url"]
        labels = {"emails": "Email addresses", "url": "Webhook URL"}
        help_texts = {
            "name": "How this channel is listed, e.g. “Hydrology on-call”.",
            "emails": "Email channels: one address per line, or separated by commas.",
        }
        widgets = {
            "emails": forms.Textarea(attrs={"rows": 2, "placeholder": "ops@example.org"}),
            "url": forms.URLInput(attrs={"placeholder": "https://hooks.example.org/streamflow"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = AlertChannel.Kind.choices  # no "---------": a channel always has a kind
        self.fields["kind"].initial = AlertChannel.Kind.EMAIL
        allowed = ", ".join(settings.ALERT_WEBHOOK_ALLOWED_HOSTS)
        self.fields["url"].help_text = (
            "Webhook, Slack and Teams channels: the address alerts are POSTed to (http or https). It must resolve "
            "to a public address"
            + (f", or be on a host this server allows: {allowed} (ALERT_WEBHOOK_ALLOWED_HOSTS)." if allowed else ".")
        )
        _style(self)

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == AlertChannel.Kind.EMAIL:
            self.instance.url = ""
            data["url"] = ""
            addresses = [a.strip() for a in (data.get("emails") or "").replace("\n", ",").split(",") if a.strip()]
            if not addresses:
                self.add_error("emails", "Enter at least one email address for an email channel.")
            for address in addresses:
                try:
                    forms.EmailField().clean(address)
                except ValidationError:
                    self.add_error("emails", f"“{address}” is not an email address; correct or remove it.")
        elif kind:
            data["emails"] = ""
            url = data.get("url") or ""
            if not url:
                self.add_error("url", "Enter the webhook address to send alerts to.")
            else:
                try:
                    check_webhook_url(url)
                except ValidationError as exc:
                    self.add_error("url", exc)
        return data


class RuleForm(forms.Form):
    conditions = forms.MultipleChoiceField(
        choices=[(c.value, c.label) for c in RULE_CONDITIONS], widget=forms.CheckboxSelectMultiple
    )
    configurations = forms.ModelMultipleChoiceField(
        queryset=PullConfiguration.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick the configurations this rule covers; tick none for every configuration (also future ones).",
    )
    min_failures = forms.IntegerField(
        min_value=1,
        max_value=1000,
        initial=3,
        label="Failures in a row (at least)",
        help_text="For “Failures in a row” only.",
    )
    send_recovery = forms.BooleanField(required=False, initial=True, label="Also send a notice when it clears")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["conditions"].help_text = "Tick one or more."
        _style(self)


def _get_channel(pk: int) -> AlertChannel:
    return get_object_or_404(AlertChannel, pk=pk)


@require_GET
@vary_on_headers("HX-Request")
@permission_required(MANAGE, raise_exception=True)
def channel_list(request: HttpRequest) -> HttpResponse:
    context = {
        "channels": AlertChannel.objects.prefetch_related("rules__configurations"),
        "form": ChannelForm(),
    }
    return render(request, "monitoring/channels.html", context)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST)
    if not form.is_valid():
        channels_qs = AlertChannel.objects.prefetch_related("rules__configurations")
        return render(request, "monitoring/channels.html", {"channels": channels_qs, "form": form}, status=400)
    channel = form.save(commit=False)
    channel.created_by = request.user.get_username()
    if channel.kind == AlertChannel.Kind.WEBHOOK:
        channel.secret = channels.new_secret()
    channel.save()
    if channel.secret:
        # Shown once, on the page this redirects to, and never again: the receiver keeps it.
        request.session[SECRET_SESSION_KEY] = {"channel": channel.pk, "secret": channel.secret}
    messages.success(request, f"Channel “{channel.name}” created. Add a rule to choose what it receives.")
    return redirect("monitoring:channel_detail", pk=channel.pk)


def _detail_context(request: HttpRequest, channel: AlertChannel, rule_form: RuleForm | None = None) -> dict:
    shown = request.session.get(SECRET_SESSION_KEY) or {}
    secret = None
    if shown.get("channel") == channel.pk:
        secret = shown["secret"]
        del request.session[SECRET_SESSION_KEY]
    return {
        "channel": channel,
        "rules": channel.rules.prefetch_related("configurations"),
        "deliveries": channel.deliveries.select_related("configuration")[:50],
        "rule_form": rule_form or RuleForm(),
        "new_secret": secret,
        "signature_header": channels.SIGNATURE_HEADER,
        "timestamp_header": channels.TIMESTAMP_HEADER,
    }


@require_GET
@never_cache  # it may show the channel's secret (once): no browser or proxy may keep a copy
@vary_on_headers("HX-Request")
@permission_required(MANAGE, raise_exception=True)
def channel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel(pk)
    template = "monitoring/channel_detail.html"
    if wants_fragment(request):
        template += "#channel-deliveries"
    return render(request, template, _detail_context(request, channel))


@require_POST
@permission_required(MANAGE, raise_exception=True)
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel(pk)
    channels.send_test(channel, requested_by=request.user.get_username())
    messages.success(request, f"A test alert to “{channel.name}” is queued; its result appears below.")
    return redirect("monitoring:channel_detail", pk=channel.pk)


@require_POST
@permission_required("monitoring.delete_alertchannel", raise_exception=True)
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel(pk)
    channel.delete()
    messages.success(request, f"Channel “{channel.name}” deleted, with its rules and deliveries.")
    return redirect("monitoring:channels")


@require_POST
@never_cache  # its form error page is the channel page, which may show the secret
@permission_required(MANAGE, raise_exception=True)
def rule_create(request: HttpRequest, pk: int) -> HttpResponse:
    channel = _get_channel(pk)
    form = RuleForm(request.POST)
    if not form.is_valid():
        return render(request, "monitoring/channel_detail.html", _detail_context(request, channel, form), status=400)
    rule = AlertRule.objects.create(
        channel=channel,
        conditions=form.cleaned_data["conditions"],
        min_failures=form.cleaned_data["min_failures"],
        send_recovery=form.cleaned_data["send_recovery"],
    )
    rule.configurations.set(form.cleaned_data["configurations"])
    messages.success(request, f"Rule added: {', '.join(rule.condition_labels)}.")
    return redirect("monitoring:channel_detail", pk=channel.pk)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def rule_delete(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=rule_pk, channel_id=pk)
    rule.delete()
    messages.success(request, "Rule deleted.")
    return redirect("monitoring:channel_detail", pk=pk)


@require_GET
@vary_on_headers("HX-Request")
@permission_required(MANAGE, raise_exception=True)
def delivery_list(request: HttpRequest) -> HttpResponse:
    template = "monitoring/deliveries.html"
    if wants_fragment(request):
        template += "#deliveries-table"
    deliveries = AlertDelivery.objects.select_related("channel", "configuration")[:DELIVERIES_SHOWN]
    return render(request, template, {"deliveries": deliveries})


@require_GET
@vary_on_headers("HX-Request")
@permission_required(OPERATE, raise_exception=True)
def worker_list(request: HttpRequest) -> HttpResponse:
    template = "monitoring/workers.html"
    if wants_fragment(request):
        template += "#workers-table"
    context = {"workers": workers.workers(), "queue_length": workers.queue_length()}
    return render(request, template, context)
