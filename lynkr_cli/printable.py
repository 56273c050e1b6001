"""Text from clients and upstreams made safe to print on a terminal.

A model name, a User-Agent, a request path or an upstream's error message is chosen by someone else.
Printed as it is, an ``ESC`` or ``OSC 52`` sequence in it rewrites the user's screen, its title or
clipboard; a ``CR`` or a line separator forges a log line. Every such string lynkr prints (the serve
log and status line, ``lynkr report``, ``lynkr doctor``, the exit report) goes through
``printable`` first: control characters become visible escapes (``\\x1b``), everything else is kept,
so the text stays readable and the escape shows what was sent.

Escaped: C0 (``\\x00``-``\\x1f``), DEL, C1 (``\\x80``-``\\x9f``, e.g. the 8-bit CSI ``\\x9b``), the
Unicode line and paragraph separators, the bidirectional overrides that reorder what is shown
("Trojan Source"), and lone surrogates (which a UTF-8 terminal stream cannot even encode). Text that
has none (nearly all of it) is returned as is after one ``str.isprintable`` check.
"""

from __future__ import annotations

_BIDI = (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_ESCAPES: dict[int, str] = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES.update({code: f"\\u{code:04x}" for code in (0x2028, 0x2029, *_BIDI, *range(0xD800, 0xE000))})
_TABLE = str.maketrans(_ESCAPES)
_TABLE_LINES = str.maketrans({k: v for k, v in _ESCAPES.items() if k != 0x0A})


def printable(value: object, newlines: bool = False) -> str:
    """``value`` as text with every control character escaped; ``newlines=True`` keeps ``\\n`` (for
    multi-line text such as an error message), ``\\r`` is escaped either way."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # no control character of any kind: the common case, one C-level scan
        return text
    return text.translate(_TABLE_LINES if newlines else _TABLE)
