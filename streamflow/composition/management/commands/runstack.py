"""Start web + Celery worker + beat together in the foreground; one Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, call_command

MAX_RESTARTS = 3  # per process within RESTART_WINDOW seconds
RESTART_WINDOW = 60.0


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat together (what `make run` starts)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("RUN_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--concurrency", type=int, default=4, help="Worker threads (default 4).")
        parser.add_argument(
            "--extra",
            action="append",
            default=[],
            help="An extra command to supervise alongside, as 'name=shell command' (used by make demo).",
        )

    def handle(self, *args, addr: str, concurrency: int, extra: list[str], **options):
        self._ensure_superuser()
        python = sys.executable
        manage = [python, str(settings.BASE_DIR / "manage.py")]
        pool = ["--pool", "threads", "--concurrency", str(concurrency)]
        commands = {
            "web": [*manage, "runserver", addr, "--noreload"],
            "worker": [python, "-m", "celery", "-A", "streamflow", "worker", "-l", "info", *pool],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "streamflow",
                "beat",
                "-l",
                "info",
                "--pidfile",
                str(settings.VAR_DIR / "celerybeat.pid"),
            ],
        }
        for item in extra:
            name, _, command = item.partition("=")
            commands[name] = ["/bin/sh", "-c", command]

        db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
        self.stdout.write(
            self.style.SUCCESS(f"Streamflow DataOps on http://{addr}/  (database: {db}, broker: {broker})")
        )
        self.stdout.write("Starting " + ", ".join(commands) + ". Press Ctrl-C to stop everything.")

        procs: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, command in commands.items():
                # Own process group each, so Ctrl-C reaches them only through us, in order.
                procs[name] = subprocess.Popen(command, start_new_session=True)
            restarts: dict[str, list[float]] = {name: [] for name in commands}
            while not stopping:
                for name, proc in procs.items():
                    if proc.poll() is None:
                        continue
                    # A crashed worker or beat comes back (its tasks are idempotent); the web server, or a
                    # process that keeps crashing, stops everything so the problem is seen.
                    recent = [t for t in restarts[name] if time.monotonic() - t < RESTART_WINDOW]
                    if name == "web" or len(recent) >= MAX_RESTARTS:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping the others.")
                        stopping = True
                        break
                    self.stderr.write(f"{name} exited with code {proc.returncode}; restarting it.")
                    restarts[name] = [*recent, time.monotonic()]
                    procs[name] = subprocess.Popen(commands[name], start_new_session=True)
                time.sleep(0.5)
        finally:
            self._stop_all(procs)
        self.stdout.write("Stopped.")

    def _stop_all(self, procs: dict[str, subprocess.Popen]) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                with _suppress():
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with _suppress():
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def _ensure_superuser(self) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("Log in with your existing superuser account.")
            return
        if os.environ.get("DJANGO_SUPERUSER_USERNAME") and os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            call_command(
                "createsuperuser", interactive=False, verbosity=0, email=os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
            )
            self.stdout.write(f"Created superuser {os.environ['DJANGO_SUPERUSER_USERNAME']!r} from DJANGO_SUPERUSER_*.")
        elif sys.stdin.isatty():
            self.stdout.write("No account exists yet: create the first (superuser) account now.")
            call_command("createsuperuser", interactive=True)
        else:
            self.stdout.write(
                self.style.WARNING(
                    "No account exists yet. Create one with `.venv/bin/python manage.py createsuperuser`, "
                    "or start with DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD / DJANGO_SUPERUSER_EMAIL set."
                )
            )


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is not None and issubclass(exc_type, ProcessLookupError | PermissionError)
