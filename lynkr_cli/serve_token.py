"""The token ``lynkr serve`` requires, by default kept in ``$LYNKR_HOME/serve-token``.

Any process on the machine (and, with ``--host``, on the network) can reach a listening port, and the
proxy attaches the user's provider keys to what it forwards: so ``lynkr serve`` requires a token even
on loopback. The first start generates one (256 random bits) into a file only the user can read; later
starts reuse it, so clients configured once keep working. A token given with ``--token``,
``LYNKR_SERVE_TOKEN`` or ``[serve] token`` wins, and must be at least 32 random characters.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lynkr_cli.errors import UsageError
from lynkr_cli.paths import data_home, ensure_private_dir
from lynkr_cli.proxy.auth import new_token, weak_token_reason

TOKEN_FILE = "serve-token"


def token_file() -> Path:
    return data_home() / TOKEN_FILE


def checked_token(token: str, where: str) -> str:
    """``token`` when it is strong enough, else a ``UsageError`` naming where it came from."""
    reason = weak_token_reason(token)
    if reason is not None:
        raise UsageError(f"the token from {where} is too weak: {reason} (or leave it out: lynkr serve generates "
                         "one and keeps it in its home)")
    return token


def stored_token(path: Path | None = None) -> tuple[str, bool]:
    """The token kept in ``path`` (default ``$LYNKR_HOME/serve-token``), generated on first use.

    Returns (token, created). A file others can read, or one another user owns, is refused: its
    token may already be known.
    """
    path = path or token_file()
    try:
        ensure_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path), False
    except OSError as exc:
        raise UsageError(f"cannot create {path}: {exc.strerror or exc} (set LYNKR_HOME to a directory you can "
                         "write, or give --token)") from None
    token = new_token()
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token, True


def _read(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise UsageError(f"{path} is not a file: delete it, and lynkr serve makes a new token")
            if info.st_uid != os.geteuid() or info.st_mode & 0o077:
                raise UsageError(f"{path} can be read by other users (mode {stat.S_IMODE(info.st_mode):o}): delete "
                                 "it for a new token (clients need the new one), or chmod 600 it if nobody could "
                                 "have read it")
            token = file.read(4096).strip()
    except UsageError:
        raise
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc} (delete it for a new token)") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read {path}: {exc} (delete it for a new token)") from None
    return checked_token(token, str(path))
