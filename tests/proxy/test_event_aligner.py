"""A passed-through SSE stream reaches the client in whole events only, however the reads cut it."""

from __future__ import annotations

import random

import pytest

from lynkr_cli.proxy.chunks import EventAligner

EVENTS = [b'event: message_start\ndata: {"type":"message_start"}\n\n', b"event: ping\ndata: {}\n\n",
          b'event: content_block_delta\ndata: {"text":"a\\n\\nb"}\n\n', b'event: message_stop\ndata: {}\n\n']


def _cut(data: bytes, rng: random.Random) -> list[bytes]:
    points = sorted(rng.sample(range(1, len(data)), rng.randint(0, min(12, len(data) - 1))))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_after_each_read_the_client_has_exactly_the_whole_events_so_far(ending):
    stream = b"".join(EVENTS).replace(b"\n", ending) if ending != b"\n" else b"".join(EVENTS)
    blank = ending * 2
    rng = random.Random(7)
    for _ in range(400):
        aligner, sent, received = EventAligner(), b"", b""
        for read in _cut(stream, rng):
            received += read
            sent += aligner.whole(read)
            assert sent == received[: received.rfind(blank) + len(blank)] if blank in received else sent == b""
            assert sent + aligner.pending == received
        assert aligner.pending == b""


def test_half_an_event_stays_pending_until_its_blank_line():
    aligner = EventAligner()
    assert aligner.whole(b"event: a\ndata: {}\n\nevent: b\ndata: {") == b"event: a\ndata: {}\n\n"
    assert aligner.pending == b"event: b\ndata: {"
    assert aligner.whole(b"}\n") == b""
    assert aligner.whole(b"\n") == b"event: b\ndata: {}\n\n"
    assert aligner.pending == b""

