"""Build the quality tallies (acquisition/tallies.py) from the stored values: after upgrading to a version that
keeps them, or after changing a QUALITY_* threshold (the stored gaps and flags were judged by the old ones)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from acquisition.tallies import FIRST_DAY, LAST_DAY, refresh_tallies
from acquisition.tally_models import QualityEvent, QualityMonth
from stations.models import TimeSeries


class Command(BaseCommand):
    help = "Rebuild the quality tallies of every series (or of --series PK …) from its stored values."

    def add_arguments(self, parser):
        parser.add_argument("--series", type=int, nargs="*", help="Only these series (primary keys).")

    def handle(self, *args, series=None, **options):
        chosen = TimeSeries.objects.order_by("pk")
        if series:
            chosen = chosen.filter(pk__in=series)
        done = 0
        for one in chosen.only("pk", "kind"):
            with transaction.atomic():
                # The whole record: every month and event is recomputed; rows of values gone are dropped.
                QualityMonth.objects.filter(series=one).delete()
                QualityEvent.objects.filter(series=one).delete()
                refresh_tallies(one.kind, one.pk, FIRST_DAY, LAST_DAY)
            done += 1
        self.stdout.write(f"Rebuilt the quality tallies of {done} series.")
