from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

from .models import TimeSeries
from .parameters import PARAMETERS
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
    parameter = forms.ChoiceField(
        required=False,
        label="Parameter",
        choices=[("", "Any parameter"), *((p.code, f"Has {p.name.lower()}") for p in PARAMETERS.values())],
    )
    # "search this area": west,south,east,north in degrees (WGS 84), as the map sends it and OGC APIs spell it.
    bbox = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_bbox(self) -> str:
        text = (self.cleaned_data.get("bbox") or "").strip()
        if not text:
            return ""
        try:
            west, south, east, north = (float(part) for part in text.split(","))
        except ValueError:
            raise forms.ValidationError(
                "An area is four numbers, west,south,east,north in degrees, e.g. -77.5,38.8,-76.9,39.2."
            ) from None
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise forms.ValidationError(
                "That area is not on the map: west must be less than east and south less than north, in degrees."
            )
        return f"{west:g},{south:g},{east:g},{north:g}"

    def filters(self) -> dict:
        """The valid filters (an invalid field is ignored, and shown as an error on the form)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return {
            "q": (data.get("q") or "").strip(),
            "state": data.get("state") or "",
            "huc": data.get("huc") or "",
            "series": data.get("series") or "",
            "parameter": data.get("parameter") or "",
            "bbox": data.get("bbox") or "",
        }

    @property
    def page_number(self) -> int:
        data = getattr(self, "cleaned_data", {})
        return data.get("page") or 1
