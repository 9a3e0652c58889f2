"""Reconcile beat's PeriodicTasks with the pull configurations (DESIGN §5)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from pulls import schedules


class Command(BaseCommand):
    help = (
        "Make django-celery-beat hold exactly one PeriodicTask per pull configuration: create missing ones, fix "
        "drifted ones, delete orphans. With --check, only report drift and exit non-zero if there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report drift without changing anything.")

    def handle(self, *args, check: bool = False, **options):
        drift = schedules.reconcile(apply=not check)
        verb = "found" if check else "fixed"
        for item in drift:
            self.stdout.write(f"{verb}: {item}")
        if check and drift:
            raise CommandError(f"{len(drift)} schedule problem(s); run `manage.py sync_schedules` to repair them.")
        if not drift:
            self.stdout.write(self.style.SUCCESS("All pull configurations are in sync with beat."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Repaired {len(drift)} schedule problem(s)."))
