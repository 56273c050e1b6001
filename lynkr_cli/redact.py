"""Removing credentials from anything lynkr writes down (ledger, logs, error messages)."""

from __future__ import annotations

import re

# Flags whose next argument (or ``=value``) is a secret.
_SECRET_FLAGS = ("--api-key", "--apikey", "--token", "--auth-token", "--key", "--password", "--secret")

# Provider key shapes (Anthropic, OpenAI, OpenRouter, AWS, Google, GitHub, Databricks, bearer tokens).
_SECRET_PATTERN = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{8,}|sk-or-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_\-]{30,}|gh[pousr]_[A-Za-z0-9]{20,}|dapi[0-9a-f]{24,}|(?i:bearer)\s+[A-Za-z0-9._\-]{12,})"
)
REDACTED = "[redacted]"
# A header whose name holds one of these may carry a secret: ``Authorization``, ``Cookie``,
# ``x-portkey-api-key``, ``Ocp-Apim-Subscription-Key``, ``X-Amz-Security-Token``, ``X-Lynkr-Token``.
_CREDENTIAL_WORDS = ("key", "token", "secret", "auth", "signature", "cookie", "session", "credential", "password")


def is_credential_header(name: str) -> bool:
    """True for a header name that says its value may be a secret."""
    lower = name.lower()
    return any(word in lower for word in _CREDENTIAL_WORDS)


def redact_text(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    """``text`` with anything shaped like a credential, and every given secret, replaced."""
    for secret in extra_secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    return _SECRET_PATTERN.sub(REDACTED, text)


def redact_argv(argv: list[str]) -> list[str]:
    """``argv`` with values of secret-bearing flags and key-shaped strings removed."""
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        flag, eq, _ = arg.partition("=")
        if flag.lower() in _SECRET_FLAGS:
            if eq:
                out.append(f"{flag}={REDACTED}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_text(arg))
    return out
