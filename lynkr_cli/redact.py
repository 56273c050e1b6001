"""Removing credentials from anything lynkr writes down or prints (ledger, logs, error messages).

Three nets, because a secret can take any shape:

1. known key shapes (``sk-ant-…``, ``AKIA…``, bearer tokens, URL passwords);
2. values under a credential's name: an upstream that echoes the request's headers in an error
   (``"Ocp-Apim-Subscription-Key": "…"``, ``x-portkey-api-key: …``, ``Cookie: …``), an assignment
   such as ``access_token=…``; the name decides (``is_credential_header``), whatever the value looks like;
3. the exact credential values the request carried (``extra_secrets``): a company gateway's key of
   any shape is caught even where nothing names it.

``redact_argv`` applies the same to a stored command line: the values of ``--api-key``-style flags,
of ``-H``/``--header`` credential headers (``curl -H "x-api-key: …"``) and of ``KEY=value`` arguments.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
# Flags whose next argument (or ``=value``) is a secret.
_SECRET_FLAGS = ("--api-key", "--apikey", "--token", "--auth-token", "--key", "--password", "--secret")

# Provider key shapes (Anthropic, OpenAI, OpenRouter, AWS, Google, GitHub, Databricks, bearer tokens),
# and the password of a URL's user info.
_SECRET_PATTERN = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{8,}|sk-or-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_\-]{30,}|gh[pousr]_[A-Za-z0-9]{20,}|dapi[0-9a-f]{24,}|(?i:bearer)\s+[A-Za-z0-9._\-~+/=]{12,})"
    r"|(?<=://)(?=[^/\s@]*:[^/\s@]*@)[^/\s:@]*:[^/\s@]+(?=@)"
)
# A header whose name holds one of these may carry a secret: ``Authorization``, ``Cookie``,
# ``x-portkey-api-key``, ``Ocp-Apim-Subscription-Key``, ``X-Amz-Security-Token``, ``X-Lynkr-Token``.
_CREDENTIAL_WORDS = ("key", "token", "secret", "auth", "signature", "cookie", "session", "credential", "password")
# ``name: value``, ``name=value``, ``"name": "value"``: a candidate name; ``_names_secret`` decides.
_NAME_SEP = re.compile(r"""(?P<q>["']?)(?P<name>[A-Za-z][A-Za-z0-9_\-]{1,63})(?P=q)\s*[:=]\s*""")
_PLAIN_VALUE = re.compile(r"""[^\s"',&;}{\]\[][^\r\n"',&}]*""")
_BARE_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_NAME_ENDINGS = ("key", "token", "secret", "password", "passwd", "signature", "credential", "credentials", "auth")


def is_credential_header(name: str) -> bool:
    """True for a header name that says its value may be a secret."""
    lower = name.lower()
    return any(word in lower for word in _CREDENTIAL_WORDS)


def _names_secret(name: str) -> bool:
    """A name whose value is a secret, strict enough for prose (``max_tokens: …`` is not one):
    a credential header (``x-api-key``, ``Cookie``, ``Ocp-Apim-Subscription-Key``), or a variable
    ending in a credential word (``access_token``, ``OPENAI_API_KEY``, ``client_secret``)."""
    lower = name.lower()
    if lower in _BARE_NAMES:
        return True
    if "-" in lower:
        return is_credential_header(lower)
    return "_" in lower and lower.rstrip("_").endswith(_NAME_ENDINGS)


def _redact_named(text: str) -> str:
    """Values that follow a credential's name (quoted: to the closing quote; plain: to the end of the
    line or the next ``,`` ``&`` ``}``), numbers below 10 digits excepted (``max-tokens: 5``)."""
    out: list[str] = []
    pos = 0
    for match in _NAME_SEP.finditer(text):
        start = match.end()
        if match.start() < pos or start >= len(text) or not _names_secret(match["name"]):
            continue
        quote = text[start]
        if quote in "\"'":
            end = start + 1
            while end < len(text) and text[end] != quote:
                end += 2 if text[end] == "\\" else 1
            out += [text[pos:start + 1], REDACTED]
            pos = min(end, len(text))
            continue
        value = _PLAIN_VALUE.match(text, start)
        if value is None or (value.group().strip().isdigit() and len(value.group().strip()) < 10):
            continue
        out += [text[pos:start], REDACTED]
        pos = value.end()
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def redact_text(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    """``text`` with anything shaped like a credential, every value under a credential's name, and
    every given secret replaced."""
    for secret in extra_secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    text = _SECRET_PATTERN.sub(REDACTED, text)
    if ":" in text or "=" in text:
        text = _redact_named(text)
    return text


def redact_argv(argv: list[str]) -> list[str]:
    """``argv`` with values of secret-bearing flags, credential headers, ``KEY=value`` secrets and
    key-shaped strings removed."""
    out: list[str] = []
    hide_next = header_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if header_next:
            out.append(_redact_header(arg))
            header_next = False
            continue
        flag, eq, value = arg.partition("=")
        lower = flag.lower()
        if lower in _SECRET_FLAGS:
            if eq:
                out.append(f"{flag}={REDACTED}")
            else:
                out.append(arg)
                hide_next = True
        elif arg in ("-H", "--header"):
            out.append(arg)
            header_next = True
        elif arg.startswith("--header="):
            out.append("--header=" + _redact_header(arg[len("--header="):]))
        elif arg.startswith("-H"):  # curl's -H'Name: value'
            out.append("-H" + _redact_header(arg[2:]))
        elif eq and is_credential_header(flag.lstrip("-")) and not (value.isdigit() and len(value) < 10):
            out.append(f"{flag}={REDACTED}")  # OPENAI_API_KEY=…, --client-secret=…, token=… (not --max-tokens=5)
        else:
            out.append(redact_text(arg))
    return out


def _redact_header(header: str) -> str:
    """``Name: value`` with the value removed when the name says it is a credential."""
    name, colon, _ = header.partition(":")
    if colon and is_credential_header(name.strip()):
        return f"{name}: {REDACTED}"
    return redact_text(header)
