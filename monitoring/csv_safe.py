"""CSV that a spreadsheet opens without running anything in it (OWASP's CSV injection advice).

Every CSV the product writes goes through here: the Data page's export (monitoring/export.py, and its COPY twin's
SQL), the API's values (api/value_endpoints.py), the quality and revision CSVs (csv_stream)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator


class _Echo:
    def write(self, value: str) -> str:
        return value


DANGEROUS_FIRST = frozenset("=+-@\t\r\n")


def csv_text(text: str) -> str:
    """A text cell that no spreadsheet opens as a formula: one starting with = + - @ tab CR or LF gets a leading
    single quote (OWASP, CSV injection). Only for text: numbers are written as numbers, a negative one as is."""
    return "'" + text if text and text[0] in DANGEROUS_FIRST else text


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run: text through csv_text(); numbers as numbers, so -3.5 stays -3.5."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return csv_text(str(value))


class LineWriter:
    """Writes one row as one line ending "\n". The csv module quotes a cell holding any character of its line
    terminator: with "\r\n" it quotes a bare CR too (with "\n" it did not, and a spreadsheet started a new row
    there). Text cells must have been through csv_text() already."""

    def __init__(self) -> None:
        self._writer = csv.writer(_Echo(), lineterminator="\r\n")

    def line(self, cells: Iterable) -> str:
        return self._writer.writerow(cells)[:-2] + "\n"


def csv_stream(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])
