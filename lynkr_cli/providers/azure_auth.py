"""Microsoft Entra ID tokens for Azure OpenAI from the Azure CLI, for accounts without API keys.

Many organisations disable key authentication on Azure OpenAI. When no ``AZURE_OPENAI_API_KEY`` or
``AZURE_OPENAI_AD_TOKEN`` is set and the ``az`` CLI is installed, lynkr asks it for a token the way
Azure's own SDKs do (``DefaultAzureCredential`` falls back to the CLI too): after ``az login`` it just
works. The token is cached until five minutes before it expires (tokens last about an hour), so the
CLI runs about once an hour, not per request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from datetime import datetime

from lynkr_cli.errors import MissingCredential

COGNITIVE_SERVICES = "https://cognitiveservices.azure.com"
_MARGIN_S = 300


def az_cli(path: str | None) -> str | None:
    """The ``az`` executable on ``path`` (the environment's PATH), if installed."""
    return shutil.which("az", path=path)


class AzureCliToken:
    """A cached bearer token from ``az account get-access-token``."""

    def __init__(self, az: str, resource: str = COGNITIVE_SERVICES) -> None:
        self.az = az
        self.resource = resource
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def get(self, now: float | None = None) -> str:
        with self._lock:
            now = time.time() if now is None else now
            if self._token is None or now >= self._expires - _MARGIN_S:
                self._token, self._expires = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        command = [self.az, "account", "get-access-token", "--resource", self.resource, "--output", "json"]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MissingCredential(f"the Azure CLI could not be run for a token: {exc}") from exc
        if result.returncode != 0:
            detail = (result.stderr or "").strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
            raise MissingCredential(
                f"the Azure CLI gave no token ({detail[0][:200]}); run `az login`, or set AZURE_OPENAI_API_KEY"
            )
        try:
            data = json.loads(result.stdout)
            token = data["accessToken"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MissingCredential("the Azure CLI printed no access token; run `az login`") from exc
        return token, _expiry(data)


def _expiry(data: dict) -> float:
    """``expires_on`` (epoch seconds, newer CLIs) or ``expiresOn`` (local time, older ones)."""
    if data.get("expires_on"):
        try:
            return float(data["expires_on"])
        except (TypeError, ValueError):
            pass
    try:
        return datetime.fromisoformat(str(data.get("expiresOn"))).timestamp()
    except ValueError:
        return time.time() + 600  # unknown: ask again in a few minutes rather than never
