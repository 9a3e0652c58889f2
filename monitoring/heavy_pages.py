"""Pages that read a lot (a station's whole-record quality page, a configuration's quality roll-up): each user runs
at most HEAVY_PAGES_PER_USER of them at once, across all web processes (streamflow/slots.py, pool "heavy").

A 19-year 15-minute quality page takes seconds; twenty of them at once by one Viewer made another user's page take
28 s. One more than the cap is a 429 sentence with Retry-After, straight away, instead of a thread and a query.
"""

from __future__ import annotations

from streamflow.slots import heavy_read

heavy_page = heavy_read(
    "heavy", "You already have {limit} quality pages loading; wait for them to finish, then try again."
)
