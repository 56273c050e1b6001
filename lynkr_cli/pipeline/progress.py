"""What a stage made of a conversation so far, so a turn costs what is new in it, not all of it.

A stage's rewrite of a message depends only on that message and the ones before it (that is what
makes it prefix-stable), so what it made of the messages a request shares with the previous one is
what it would make of them again. Per conversation (``conversation.py``) a stage keeps the messages it
was given, what it made of each (the given object itself when it changed nothing), the texts it
replaced, running totals of its counts, and its own context (the tool names seen so far; dedup's
index). A request continuing the conversation is handled from the first message it does not share
by identity: messages that differ only by a moved ``cache_control`` marker get the same replacements
again, a last message that has grown gets its new blocks processed, new messages are processed, and
the report comes from the running totals. A request that does not continue it (a stage used on its
own, a stage that failed half-way) starts again from nothing.

This is only for speed: a stage with no progress computes the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import compress, count
from operator import is_not
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from lynkr_cli.pipeline.conversation import blocks, extends, running, same_content

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest

C = TypeVar("C")
Edit = tuple[int, "int | None", str]  # (block, part; None: the block's content is the string itself, new text)
Counts = tuple[int, ...]  # a stage's counts for a message: tokens before, after, texts rewritten, lossless
# failures, then the stage's own (see each stage)
BEFORE, AFTER, REWRITTEN, FAILURES = range(4)


class Done(NamedTuple):
    """What a stage made of some blocks of a message."""

    edits: tuple[Edit, ...] = ()  # the texts it replaced
    counts: Counts | None = None  # None: all zero
    items: tuple[dict[str, Any], ...] = ()  # report items, shown when the message is the newest


NOTHING = Done()
# (content blocks of a message, the first block to look at, the stage's context) -> what it made of them
Process = Callable[[list[Any], int, C], Done]


class Progress(Generic[C]):
    """One stage's progress through one conversation."""

    def __init__(self, start: Callable[[], C], width: int = 4) -> None:
        self._start = start
        self.zero: Counts = (0,) * width
        self._reset()

    def _reset(self) -> None:
        self.context: C = self._start()
        self.given: list[Any] = []
        self.made: list[Any] = []  # what the stage made of each message (the given object when unchanged)
        self.done: list[Done] = []
        self.totals: list[Counts] = []  # running sums (the same tuple again while a message adds nothing)
        self.changed: list[int] = []  # messages changed so far

    def follow(self, messages: list[Any], process: Process[C]) -> None:
        """Bring the progress to ``messages``: afterwards ``made`` is what the stage makes of them."""
        try:
            self._follow(messages, process)
        except BaseException:
            self._reset()  # half-done context (a stage bug, fail-open above): never reused
            raise

    def _follow(self, messages: list[Any], process: Process[C]) -> None:
        given = self.given
        limit = min(len(given), len(messages))
        # The first message that is not the very object given before (one pass in C: the previous
        # stage hands on the objects it was given, or what it made of them, the same each turn).
        same = next(compress(count(), map(is_not, given, messages)), limit)
        moved = same
        while moved < limit and same_content(given[moved], messages[moved]):
            moved += 1
        grown = moved == len(given) - 1 and moved < len(messages) and extends(given[moved], messages[moved])
        if moved < len(given) and not grown:  # the conversation is not this one continued
            self._reset()
            given, same, moved = self.given, 0, 0
        for i in range(same, moved):  # equal but for the markers: the same replacements, on the new object
            given[i] = messages[i]
            self.made[i] = _made(messages[i], self.done[i].edits)
        if grown:  # the last message has more blocks: the context is where its old ones left it
            old = self._pop()
            content = messages[moved]["content"]
            more = process(content, len(blocks(_content(old[0]))), self.context)
            self._add(messages[moved], Done(old[1].edits + more.edits, _sum(old[1].counts, more.counts),
                                            old[1].items + more.items))
            moved += 1
        for message in messages[moved:]:
            content = message.get("content") if type(message) is dict else None
            self._add(message, process(content, 0, self.context) if type(content) is list else NOTHING)

    def _add(self, message: Any, done: Done) -> None:
        self.given.append(message)
        made = _made(message, done.edits)
        self.made.append(made)
        self.done.append(done)
        counts = done.counts
        total = self.totals[-1] if self.totals else self.zero
        self.totals.append(total if counts is None else tuple(a + b for a, b in zip(total, counts)))
        self.changed.append((self.changed[-1] if self.changed else 0) + (made is not message))

    def _pop(self) -> tuple[Any, Done]:
        self.totals.pop()
        self.changed.pop()
        self.made.pop()
        return self.given.pop(), self.done.pop()

    @property
    def any_changed(self) -> bool:
        return bool(self.changed) and self.changed[-1] > 0

    @property
    def total(self) -> Counts:
        return self.totals[-1] if self.totals else self.zero

    @property
    def newest(self) -> Counts:
        return (self.done[-1].counts or self.zero) if self.done else self.zero

    @property
    def newest_items(self) -> tuple[dict[str, Any], ...]:
        return self.done[-1].items if self.done else ()


def _content(message: Any) -> Any:
    return message.get("content") if type(message) is dict else None


def _made(message: Any, edits: tuple[Edit, ...]) -> Any:
    return edit_message(message, edits) if edits else message


def _sum(a: Counts | None, b: Counts | None) -> Counts | None:
    if a is None or b is None:
        return a if b is None else b
    return tuple(x + y for x, y in zip(a, b))


def progress_for(name: str, start: Callable[[], C], width: int = 4) -> Progress[C]:
    """The stage's progress through the conversation the running pipeline works on (a new, unkept one
    when there is none: a stage called on its own, or a conversation busy in another thread)."""
    conversation = running()
    if conversation is None:
        return Progress(start, width)
    found: Progress[C] | None = conversation.progress.get(name)
    if found is None:
        found = conversation.progress[name] = Progress(start, width)
    return found


def follow(request: ModelRequest, progress: Progress[C], process: Process[C]) -> ModelRequest:
    """``request`` with its messages as the stage makes them (``request`` itself if none changed)."""
    messages = request.body.get("messages")
    if type(messages) is not list:
        return request
    progress.follow(messages, process)
    if not progress.any_changed:
        return request
    return request.with_body({**request.body, "messages": list(progress.made)})


# --- the tool results of one message ------------------------------------------------------------

class Text(NamedTuple):
    """One tool-result text of a message: block, part (None: the block's content is the string), the
    tool_use id it answers, and the text."""

    block: int
    part: int | None
    tool_use_id: str
    text: str


def texts_of(block: dict[str, Any], position: int) -> Iterator[Text]:
    """The texts of a ``tool_result`` block."""
    tool_use_id = str(block.get("tool_use_id"))
    body = block.get("content")
    if type(body) is str:
        yield Text(position, None, tool_use_id, body)
    elif type(body) is list:
        for part, item in enumerate(body):
            if type(item) is dict and item.get("type") == "text" and type(item.get("text")) is str:
                yield Text(position, part, tool_use_id, item["text"])


def result_texts(content: list[Any], start: int = 0) -> Iterator[Text]:
    for position in range(start, len(content)):
        block = content[position]
        if type(block) is dict and block.get("type") == "tool_result":
            yield from texts_of(block, position)


def edit_message(message: dict[str, Any], edits: tuple[Edit, ...]) -> dict[str, Any]:
    """``message`` with the texts named by ``edits`` replaced (only the blocks that change are copied)."""
    content = list(message["content"])
    parts: dict[int, list[Any]] = {}
    for block, part, text in edits:
        if part is None:
            content[block] = {**content[block], "content": text}
            continue
        body = parts.get(block)
        if body is None:
            body = parts[block] = list(content[block]["content"])
            content[block] = {**content[block], "content": body}
        body[part] = {**body[part], "text": text}
    return {**message, "content": content}
