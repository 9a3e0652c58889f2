from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

from .models import TimeSeries
from .states import STATE_CHOICES


class SearchForm(forms.Form):
    """The station search's query parameters (GET). Invalid values are dropped, never a 500."""

    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Name words, site number or USGS-… id", "type": "search"}),
    )
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *STATE_CHOICES])
    huc = forms.CharField(
        required=False,
        max_length=12,
        label="HUC prefix",
        validators=[RegexValidator(r"^\d{1,12}$", "A HUC prefix is 1 to 12 digits, e.g. 0207.")],
        widget=forms.TextInput(attrs={"placeholder": "e.g. 0207", "inputmode": "numeric"}),
    )
    series = forms.ChoiceField(
        required=False,
        label="Data",
        choices=[
            ("", "Any data"),
            (TimeSeries.Kind.DAILY, "Has daily data"),
            (TimeSeries.Kind.CONTINUOUS, "Has continuous data"),
        ],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def filters(self) -> dict:
        """The valid filters (an invalid field is ignored, and shown as an error on the form)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return {
            "q": (data.get("q") or "").strip(),
            "state": data.get("state") or "",
            "huc": data.get("huc") or "",
            "series": data.get("series") or "",
        }

    @property
    def page_number(self) -> int:
        data = getattr(self, "cleaned_data", {})
        return data.get("page") or 1
