"""The embedded (filesystem) broker never hands a worker half a message."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from kombu import Connection

from streamflow.broker import Transport


@pytest.fixture
def folder(tmp_path):
    for name in ("in", "processed", "control"):
        (tmp_path / name).mkdir()
    return tmp_path


def _connection(folder) -> Connection:
    options = {
        "data_folder_in": str(folder / "in"),
        "data_folder_out": str(folder / "in"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }
    return Connection("filesystem://", transport=Transport, transport_options=options)


def test_a_message_still_being_written_is_not_read(folder):
    # What a writer leaves while it writes: the reader must skip it, not fail on half a JSON document.
    (folder / "in" / "1_abc.jobs.msg.part").write_text('{"body": "eyJ')
    with _connection(folder) as conn:
        queue = conn.SimpleQueue("jobs")
        with pytest.raises(queue.Empty):
            queue.get(block=False)
        queue.close()


def test_messages_written_while_a_worker_reads_all_arrive_whole(folder):
    # Kombu keeps exchange bindings per process: a queue name of its own keeps this test apart from the others.
    name = f"jobs-{uuid.uuid4().hex}"
    count = 300
    received = []
    # Declared before anything is sent, as a worker's queues are: Kombu's in-process binding table is not
    # thread-safe while two connections declare the same exchange.
    ready = threading.Event()

    def consume():
        # Poll the folder as fast as a busy worker would, to catch files while they are being written.
        deadline = time.monotonic() + 60
        with _connection(folder) as conn:
            queue = conn.SimpleQueue(name)
            ready.set()
            while len(received) < count and time.monotonic() < deadline:
                try:
                    message = queue.get(block=False)
                except queue.Empty:
                    continue
                received.append(message.payload["n"])
                message.ack()
            queue.close()

    reader = threading.Thread(target=consume)
    reader.start()
    assert ready.wait(timeout=10)
    with _connection(folder) as conn:
        queue = conn.SimpleQueue(name)
        for n in range(count):
            queue.put({"n": n, "padding": "x" * 2000})
        queue.close()
    reader.join(timeout=60)
    assert sorted(received) == list(range(count))
    assert not list((folder / "in").glob("*.part"))
