"""Long streamed responses (the Data page's CSV export, the API's values): each holds one of its user's export
slots (monitoring/export_limits.py) while it streams, and a client that stops reading is cut off.

A gthread worker's thread blocks in send() for as long as its client does not read, past gunicorn's own timeout;
enough such clients hold every thread and the site stops answering. The slots bound that per user; the send
timeout (STREAM_SEND_TIMEOUT_SECONDS, on the connection gunicorn hands the app) bounds it in time. In production
a buffering proxy in front (README, "Long downloads") reads the stream quickly and feeds slow clients itself.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse

from . import export_limits


class ReleasingIterator:
    """The response's chunks; close() (called by the server when the response is done, read or not) frees the slot.
    A generator's finally would not run for a response that was never iterated."""

    def __init__(self, chunks: Iterator, slot: export_limits.Slot) -> None:
        self._chunks, self._slot = chunks, slot
        # Also when dropped without close(): a slot must never outlive its response.
        self._finalizer = weakref.finalize(self, slot.release_soon)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._chunks)

    def close(self) -> None:
        self._finalizer.detach()
        try:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
        finally:
            self._slot.release()


def limit_send_time(request: HttpRequest) -> None:
    """A write of one slice to this request's client that takes longer than STREAM_SEND_TIMEOUT_SECONDS fails (the
    server then drops the connection and frees its thread). Only where the server hands over its socket (gunicorn);
    the worker resets the socket to blocking before the next request on the connection."""
    sock = request.META.get("gunicorn.socket")
    if sock is not None:
        sock.settimeout(settings.STREAM_SEND_TIMEOUT_SECONDS)


def slotted_stream(
    request: HttpRequest, chunks: Iterator, slot: export_limits.Slot, content_type: str
) -> StreamingHttpResponse:
    """Stream `chunks` while holding `slot` (released when the response closes), with the send timeout set."""
    limit_send_time(request)
    return StreamingHttpResponse(ReleasingIterator(chunks, slot), content_type=content_type)
