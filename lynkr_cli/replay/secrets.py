"""Credentials in transcripts: whatever passed through the agent's terminal is in its transcript
(``env`` output, a ``.env`` file it read, a key pasted into a prompt). Replay writes request bodies
only through ``scrub``, which replaces every credential shape lynkr knows (``lynkr_cli.redact``) plus a
few that turn up in transcripts: private key blocks, JWTs, and ``KEY=value`` assignments whose name
says secret.
"""

from __future__ import annotations

import re

from lynkr_cli.redact import REDACTED, redact_text

_EXTRA = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    r"|xox[abpr]-[A-Za-z0-9\-]{10,}"
    r"|(?<=[\s\"'])(?:[A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD|API_KEY|PRIVATE_KEY)[A-Z0-9_]*)=(?!\[redacted\])[^\s\"'\\]{6,}",
    re.DOTALL,
)


def _assignment(match: re.Match[str]) -> str:
    text = match.group(0)
    name, sep, _ = text.partition("=")
    return f"{name}={REDACTED}" if sep and not text.startswith("-----") and not text.startswith("eyJ") \
        and not text.startswith("xox") else REDACTED


def scrub(text: str) -> str:
    """``text`` with every credential shape replaced by ``[redacted]``."""
    return _EXTRA.sub(_assignment, redact_text(text))
