"""Reading an upstream's answer: what the relay asks of scanners and translators, and which read one.

A *scanner* watches the bytes of an answer that reaches the client untouched and keeps its model,
usage, errors and (for the cache) the whole message: ``proxy/usage.py`` for Anthropic's own format,
``proxy/translate.py``'s ``ResponseTranslator`` in scan-only mode for the others. A *translator*
turns the answer into the client's format as it streams; it is its own scanner. The relay
(``proxy/relay.py``) uses nothing but what these two protocols declare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lynkr_cli.proxy.usage import AnthropicResponseScanner, Usage

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.providers.base import HttpProvider, UpstreamCall

Headers = list[tuple[bytes, bytes]]


class Scanner(Protocol):
    """Watches an answer go by; never changes or holds back a byte."""

    model: str | None
    error: str | None
    stopped: bool  # the answer's final event went by: a client leaving after it is no error
    streaming: bool  # the client is getting an event stream (set by ``begin``)
    usage: Usage

    @property
    def message(self) -> dict[str, Any] | None:
        """The complete canonical answer when it was kept (for the cache), else None."""
        ...

    def begin(self, status: int, content_type: str | None, headers: Headers) -> None: ...
    def feed(self, chunk: bytes) -> None: ...
    def finish(self) -> None: ...

    def broken_tail(self, message: str) -> bytes:
        """For a stream that broke after its head was sent: an error event the client understands."""
        ...


class Translator(Scanner, Protocol):
    """Turns an upstream's answer into the client's format, event by event."""

    client_stream: bool
    rerouted: str | None  # the model lynkr chose instead of the client's, named in a 404's message

    @property
    def gave_up(self) -> bool:
        """The client's stream already ended with an error event: nothing more can reach it."""
        ...

    def head(self) -> tuple[int, Headers] | None:
        """Status and headers to send now, or None when they depend on the whole body."""
        ...

    def translate(self, chunk: bytes) -> bytes: ...

    def end(self, broken: str | None = None) -> bytes:
        """The rest of the client's body once the upstream's ended (``broken``: why it did early)."""
        ...

    def final_head(self) -> tuple[int, Headers]: ...


@dataclass
class Readers:
    """The readers of one answer. ``translator`` None: its bytes pass through, read by ``scanner``;
    ``non_api`` then takes over an answer that is no API answer at all (a gateway's HTML page, a 404
    for a model lynkr chose), to give the client an error it can read."""

    scanner: Scanner
    translator: Translator | None = None
    non_api: Translator | None = None


def readers_for(provider: HttpProvider, call: UpstreamCall, request: ModelRequest, keep_message: bool) -> Readers:
    """The readers of ``provider``'s answer to ``call``; ``keep_message``: the cache wants it whole."""
    from lynkr_cli.proxy.translate import ResponseTranslator

    if call.wire_format == request.inbound:
        if request.inbound == "anthropic" and not keep_message:
            scanner: Scanner = AnthropicResponseScanner()
        else:
            scanner = ResponseTranslator(provider, call.wire_format, request, scan_only=True)
        return Readers(scanner, None, ResponseTranslator(provider, call.wire_format, request))
    translator = ResponseTranslator(provider, call.wire_format, request, keep_message=keep_message, model=call.model)
    return Readers(translator, translator)


@dataclass
class NullScanner:
    """For routes that carry no usage (count_tokens, model lists): their bytes pass through unread."""

    model: str | None = None
    error: str | None = None
    stopped: bool = False
    streaming: bool = False
    usage: Usage = field(default_factory=Usage)

    @property
    def message(self) -> dict[str, Any] | None:
        return None

    def begin(self, status: int, content_type: str | None, headers: Headers) -> None:
        pass

    def feed(self, chunk: bytes) -> None:
        pass

    def finish(self) -> None:
        pass

    def broken_tail(self, message: str) -> bytes:
        return b""
