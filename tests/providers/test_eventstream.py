"""The event-stream framing: AWS's published frames, every split point, and corruption detected."""

from __future__ import annotations

import pytest

from lynkr_cli.providers.eventstream import EventStreamDecoder, EventStreamError, encode_message

# Two of AWS's published event-stream test vectors (aws-c-event-stream "empty_message" and
# "payload_one_str_header"), byte for byte.
EMPTY = bytes.fromhex("000000100000000005c248eb7d98c8ff")
ONE_HEADER = bytes.fromhex(
    "0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e"
    "7b27666f6f273a27626172277d8d9c08b1"
)


def test_published_vectors_decode_and_encode_identically() -> None:
    decoder = EventStreamDecoder()
    empty, one = list(decoder.feed(EMPTY + ONE_HEADER))
    assert empty.headers == {} and empty.payload == b""
    assert one.headers == {"content-type": "application/json"}
    assert one.payload == b"{'foo':'bar'}"
    assert encode_message({}, b"") == EMPTY
    assert encode_message({"content-type": "application/json"}, b"{'foo':'bar'}") == ONE_HEADER


def test_every_split_point_yields_the_same_messages() -> None:
    """Bytes arrive in arbitrary TCP chunks; a message is yielded as soon as its last byte is in."""
    frames = [encode_message({":event-type": f"e{i}", ":message-type": "event", "n": i, "ok": True}, b"x" * i)
              for i in range(4)]
    stream = b"".join(frames)
    for cut in range(1, len(stream)):
        decoder = EventStreamDecoder()
        got = list(decoder.feed(stream[:cut])) + list(decoder.feed(stream[cut:]))
        assert [m.event_type for m in got] == ["e0", "e1", "e2", "e3"]
        assert [m.headers["n"] for m in got] == [0, 1, 2, 3]
        assert decoder.pending == 0
    decoder = EventStreamDecoder()
    one_by_one = [m for b in stream for m in decoder.feed(bytes([b]))]
    assert [m.payload for m in one_by_one] == [b"", b"x", b"xx", b"xxx"]


def test_partial_message_is_held_not_yielded() -> None:
    decoder = EventStreamDecoder()
    assert list(decoder.feed(ONE_HEADER[:-1])) == []
    assert decoder.pending == len(ONE_HEADER) - 1
    assert [m.payload for m in decoder.feed(ONE_HEADER[-1:])] == [b"{'foo':'bar'}"]


@pytest.mark.parametrize("position", [2, 9, 30, len(ONE_HEADER) - 1])
def test_a_flipped_bit_is_detected(position: int) -> None:
    corrupt = bytearray(ONE_HEADER)
    corrupt[position] ^= 0x01
    with pytest.raises(EventStreamError):
        list(EventStreamDecoder().feed(bytes(corrupt)))
