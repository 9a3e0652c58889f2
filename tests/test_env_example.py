"""`.env.example` copied to `.env` must give the values it shows: django-environ reads a `# …` after a value as part
of the value, so comments stand on their own lines."""

from __future__ import annotations

import os
from pathlib import Path

import environ

EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def test_every_value_of_the_example_reads_back_without_comments_or_padding(tmp_path, monkeypatch):
    lines = [line for line in EXAMPLE.read_text().splitlines() if line and not line.startswith("#")]
    names = [line.split("=", 1)[0] for line in lines]
    for name in names:
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(EXAMPLE.read_text())

    environ.Env.read_env(env_file, overwrite=False)

    assert len(names) > 40
    for name in names:
        value = os.environ[name]
        assert value == value.strip() and " #" not in value, (name, value)
