"""Station names as search sees them: punctuation dropped and NWIS abbreviations read as their words.

USGS writes station names in a short hand of its own: "TRINITY RV AT DALLAS, TX", "NW BR ANACOSTIA R NR
HYATTSVILLE", "POTOMAC RIVER NEAR WASH, DC", "ST. MARY'S RIVER". A search for "trinity river", "near hyattsville",
"washington" or "st marys" has to find them, and a search typed in the short hand ("nr laurel") has to find the
names written out ("NEAR LAUREL"). Both sides go through the same function: a name is stored beside itself as
`search_name` (lowercase, apostrophes dropped, other punctuation a space, every abbreviation replaced by its
word), and each query word is read the same way before it is matched against that column.

The list below was built from the catalog itself: the tokens of the 9,322 GAGES-II station names
(shared/fixtures/stations/gages2_9322.tsv) counted, and every short token that stands for a word in those names
kept, with its count there (NR 2,266, R 776, C 643 "LITTLE NESHAMINY C", BL 319, CK 274, CR 241, RV 238, AB 171,
ST./ST 174, RD 102, BLW 88, ABV 88, NF 82, FK 75, SF 71, HWY 68, N 63, RES 62, S 60, LK 60, DIV 49, BR 43,
W 43, WASH 40 "NEAR WASH, DC", STR 38, E 33, FT 29, MF 26, RIV 23, CYN 23, SPGS 8, TRIB 6, MTN 6, …).
Left out on purpose, because in these names they mostly mean something else: CO (Colorado, county), MO
(Missouri), A (at / and), NO ("NO BUSINESS CREEK" is a real creek), US.

ST stands for both "saint" and "street", so the three are one word here: "st marys", "saint marys" and
"street" each find ST, SAINT and STREET.

Directions are words too (issue 23): N, S, E, W, NE, NW, SE, SW are read as north … southwest (and F as fork,
as in "S F SHENANDOAH RIVER"), so "northwest branch anacostia" finds "NW BR ANACOSTIA RIVER NR HYATTSVILLE, MD" and
"nw br" finds both. NE is also Nebraska and MT Montana: a state code as the last word of a name ("PLUM CREEK AT
MEADVILLE, NE", "ELKHORN R AT NORFOLK NE") is the state and stays as written, while "South Fork Iowa River NE of
New Providence, IA" is northeast.

A query word goes through the same table, with one rule for every word: read as its word, it is searched when it
has at least 3 letters ("nw" → "northwest", "br" → "branch", "n" → "north"), and ignored otherwise ("a", "dc"),
which the search page says.
"""

from __future__ import annotations

import re

from .states import STATES

# word → the abbreviations (and synonyms) that mean it in station names; the key is what search_name stores.
WORDS: dict[str, tuple[str, ...]] = {
    "river": ("r", "rv", "riv", "rvr"),
    "creek": ("c", "cr", "ck", "crk"),
    "near": ("nr",),
    "above": ("ab", "abv"),
    "below": ("bl", "blw"),
    "branch": ("br",),
    "brook": ("bk", "brk"),
    "fork": ("fk", "f"),
    "tributary": ("trib", "tr"),
    "north": ("n",),
    "south": ("s", "so"),
    "east": ("e",),
    "west": ("w",),
    "northeast": ("ne",),
    "northwest": ("nw",),
    "southeast": ("se",),
    "southwest": ("sw",),
    "middle": ("mid",),
    "little": ("l", "lt", "ltl"),
    "saint": ("st", "street", "ste"),
    "stream": ("str",),
    "lake": ("lk",),
    "reservoir": ("res",),
    "highway": ("hwy", "hiway"),
    "road": ("rd",),
    "avenue": ("ave",),
    "boulevard": ("blvd",),
    "drive": ("dr",),
    "canyon": ("cyn", "cn"),
    "diversion": ("div",),
    "springs": ("spgs",),
    "spring": ("spg",),
    "mountain": ("mt", "mtn", "mount"),
    "fort": ("ft",),
    "junction": ("jct",),
    "bayou": ("byu",),
    "station": ("sta",),
    "upstream": ("upst",),
    "washington": ("wash",),
}
# Two-word short hands: the fork or branch of a river named by its side.
PHRASES: dict[str, str] = {
    "nf": "north fork",
    "sf": "south fork",
    "ef": "east fork",
    "wf": "west fork",
    "mf": "middle fork",
    "nb": "north branch",
    "sb": "south branch",
    "eb": "east branch",
    "wb": "west branch",
}
EXPANSIONS: dict[str, str] = {
    **{short: word for word, shorts in WORDS.items() for short in shorts},
    **PHRASES,
}
TOKEN_RE = re.compile(r"[^\W_]+")
# A name's last word, when it is one of these, is its state ("…, NE" is Nebraska, "…, MT" Montana), never expanded.
STATE_CODES = frozenset(state.postal.lower() for state in STATES)


def tokens(text: str) -> list[str]:
    """Lowercase words of a text, apostrophes dropped ("MARY'S" → "marys"), any other punctuation a break."""
    return TOKEN_RE.findall(re.sub(r"['’`]", "", text.lower()))


def search_name(name: str) -> str:
    """The form of a station name that search matches: " trinity river at dallas tx " (spaces at both ends)."""
    found = tokens(name)
    words = [EXPANSIONS.get(token, token) for token in found]
    if found and found[-1] in STATE_CODES:
        words[-1] = found[-1]
    return f" {' '.join(words)} "


def query_word(token: str) -> str:
    """What one typed word (already from tokens()) is searched as: its word if it is an abbreviation, else
    itself (search.parse_query then keeps it only if that has 3 letters or more)."""
    return EXPANSIONS.get(token, token)
