"""Checking a configured provider for real: a one-token request (``lynkr init --test``, ``lynkr doctor``).

Goes through the same provider adapters as the proxy (``providers.resolve_provider`` and
``build_call``), so a pass means lynkr itself can reach and authenticate to that provider.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from lynkr_cli.settings import Settings


@dataclass
class CheckResult:
    provider: str
    model: str
    ok: bool
    detail: str


def provider_overrides(settings: Settings, env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``[providers.*]`` as the provider registry takes them; ``api_key_env`` resolved from ``env``."""
    out: dict[str, dict[str, Any]] = {}
    for name, conf in settings.providers.items():
        entry: dict[str, Any] = {k: v for k, v in conf.model_dump().items() if v not in (None, {}, "")}
        if conf.api_key is not None:
            entry["api_key"] = conf.api_key.get_secret_value()
        elif conf.api_key_env and env.get(conf.api_key_env):
            entry["api_key"] = env[conf.api_key_env]
        out[name] = entry
    return out


def one_token_request(
    provider_id: str, model: str, settings: Settings, env: Mapping[str, str], timeout: float = 15.0
) -> CheckResult:
    """Send ``max_tokens: 1`` to ``provider:model``; never raises, the result says what happened."""
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.errors import LynkrError

    try:
        from lynkr_cli.providers.base import resolve_provider

        provider = resolve_provider(provider_id, env, provider_overrides(settings, env))
        request = ModelRequest(body={"model": model, "max_tokens": 1,
                                     "messages": [{"role": "user", "content": "Reply with one word."}]})
        call = provider.build_call(request, model, {})
    except LynkrError as exc:
        return CheckResult(provider_id, model, False, str(exc))
    except (ImportError, NotImplementedError) as exc:
        return CheckResult(provider_id, model, False, f"cannot be tested by this lynkr version ({exc})")
    import httpx

    started = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout) as client:
            response = client.request(call.method, call.url, headers=call.headers, content=call.body)
    except httpx.HTTPError as exc:
        return CheckResult(provider_id, model, False, f"cannot reach {provider.base_url}: {exc}")
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code >= 400:
        message = provider.error_message(call.wire_format, response.status_code, response.content,
                                         response.headers.get("content-type"))
        return CheckResult(provider_id, model, False, message)
    return CheckResult(provider_id, model, True, f"HTTP {response.status_code} in {elapsed:.0f} ms")
