"""US states and territories: postal code, FIPS code and name, for imports and the search's state select.

USGS gives the FIPS code (`state_cd` "24", `state_code` "24") and the name ("Maryland"); people type the postal code
("MD"). One table keeps the three in step.
"""

from __future__ import annotations

from typing import NamedTuple


class State(NamedTuple):
    postal: str
    fips: str
    name: str


STATES: tuple[State, ...] = (
    State("AL", "01", "Alabama"),
    State("AK", "02", "Alaska"),
    State("AZ", "04", "Arizona"),
    State("AR", "05", "Arkansas"),
    State("CA", "06", "California"),
    State("CO", "08", "Colorado"),
    State("CT", "09", "Connecticut"),
    State("DE", "10", "Delaware"),
    State("DC", "11", "District of Columbia"),
    State("FL", "12", "Florida"),
    State("GA", "13", "Georgia"),
    State("HI", "15", "Hawaii"),
    State("ID", "16", "Idaho"),
    State("IL", "17", "Illinois"),
    State("IN", "18", "Indiana"),
    State("IA", "19", "Iowa"),
    State("KS", "20", "Kansas"),
    State("KY", "21", "Kentucky"),
    State("LA", "22", "Louisiana"),
    State("ME", "23", "Maine"),
    State("MD", "24", "Maryland"),
    State("MA", "25", "Massachusetts"),
    State("MI", "26", "Michigan"),
    State("MN", "27", "Minnesota"),
    State("MS", "28", "Mississippi"),
    State("MO", "29", "Missouri"),
    State("MT", "30", "Montana"),
    State("NE", "31", "Nebraska"),
    State("NV", "32", "Nevada"),
    State("NH", "33", "New Hampshire"),
    State("NJ", "34", "New Jersey"),
    State("NM", "35", "New Mexico"),
    State("NY", "36", "New York"),
    State("NC", "37", "North Carolina"),
    State("ND", "38", "North Dakota"),
    State("OH", "39", "Ohio"),
    State("OK", "40", "Oklahoma"),
    State("OR", "41", "Oregon"),
    State("PA", "42", "Pennsylvania"),
    State("RI", "44", "Rhode Island"),
    State("SC", "45", "South Carolina"),
    State("SD", "46", "South Dakota"),
    State("TN", "47", "Tennessee"),
    State("TX", "48", "Texas"),
    State("UT", "49", "Utah"),
    State("VT", "50", "Vermont"),
    State("VA", "51", "Virginia"),
    State("WA", "53", "Washington"),
    State("WV", "54", "West Virginia"),
    State("WI", "55", "Wisconsin"),
    State("WY", "56", "Wyoming"),
    State("AS", "60", "American Samoa"),
    State("GU", "66", "Guam"),
    State("MP", "69", "Northern Mariana Islands"),
    State("PR", "72", "Puerto Rico"),
    State("VI", "78", "Virgin Islands"),
)

_BY_POSTAL = {s.postal: s for s in STATES}
_BY_FIPS = {s.fips: s for s in STATES}
_BY_NAME = {s.name.lower(): s for s in STATES}

STATE_CHOICES: list[tuple[str, str]] = [
    (s.postal, f"{s.postal} — {s.name}") for s in sorted(STATES, key=lambda s: s.name)
]


def lookup(value: str | None) -> State | None:
    """The state for a postal code ("md"), a FIPS code ("24" or 24) or a name ("Maryland"); None if unknown."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return _BY_FIPS.get(text.zfill(2))
    return _BY_POSTAL.get(text.upper()) or _BY_NAME.get(text.lower())
