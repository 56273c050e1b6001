"""The small interface every upstream provider implements, the registry, and ``provider:model`` refs.

How a request reaches a provider
--------------------------------
The proxy turns every inbound call into a canonical ``ModelRequest`` (Anthropic Messages shape), the
router picks a ``ModelRef`` (``provider:model``), and the provider adapter does the rest:

1. ``provider.wire_format_for(request.inbound)`` names the wire format spoken upstream. A provider
   that speaks several (OpenAI: Responses and Chat) answers in the client's own format when it can,
   so a same-format request passes through untouched.
2. ``provider.build_call(request, model, client_headers)`` returns an ``UpstreamCall``: method, URL,
   headers (credentials included) and the body bytes. When the wire format equals the inbound one and
   no stage changed the request, the body is the client's original bytes.
3. The response is turned back into the client's format by ``formats.translate``: the upstream's
   bytes are decoded event by event into canonical events (Anthropic SSE events as dicts) with
   ``provider.stream_decoder(wire)``, or, for a JSON answer, into one canonical message with
   ``provider.decode_message(wire, body)``; errors with ``provider.error_message(...)``.

Adding a provider
-----------------
A provider *family* is a subclass of ``HttpProvider`` (override ``endpoint``, ``auth_headers`` and,
for a binary protocol such as Bedrock's event stream, ``encode_body`` / ``stream_decoder`` /
``decode_message``). A *preset* binds an id to a family with its default base URL and the environment
variables that hold its base URL and key. ``register(ProviderPreset(...))`` adds one; built-in presets
are listed in ``providers/presets.py`` (one line each).

Credentials
-----------
Read once from the environment mapping (the provider's usual variables, e.g. ``OPENROUTER_API_KEY``)
or the config file's ``[providers.<id>]`` table, never looked up deep in the code. A family whose
clients bring their own key (Anthropic for Claude Code, OpenAI for Codex) forwards the client's
credentials when the client speaks that family's format; otherwise a missing key is a
``MissingCredential`` naming the variable to set.

This module imports nothing heavy: it is used while ``lynkr run`` starts the agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping

from lynkr_cli.errors import MissingCredential, UnknownProvider, UsageError

if TYPE_CHECKING:
    from lynkr_cli.canonical import ApiFormat, ModelRequest
    from lynkr_cli.formats.base import StreamDecoder

WireFormat = Literal["anthropic", "openai-chat", "openai-responses", "ollama", "bedrock"]

_REF = re.compile(r"^(?P<provider>[a-z][a-z0-9_.-]*):(?P<model>\S+)$")


@dataclass(frozen=True)
class ModelRef:
    """A model as users write it: ``provider:model`` (``ollama:qwen2.5-coder:7b`` keeps its tag)."""

    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


def parse_model_ref(text: str, known: Mapping[str, object] | None = None) -> ModelRef:
    """Parse ``provider:model``; the model part may itself contain colons (Ollama tags).

    Raises ``UsageError`` for a malformed ref and ``UnknownProvider`` (listing the known ids) when
    ``known`` is given and does not contain the provider.
    """
    value = (text or "").strip()
    match = _REF.match(value)
    if match is None:
        raise UsageError(
            f"malformed model {text!r}: expected PROVIDER:MODEL, e.g. anthropic:claude-sonnet-4-5 or "
            "ollama:qwen2.5-coder"
        )
    ref = ModelRef(match["provider"], match["model"])
    registry = get_registry() if known is None else known
    if ref.provider not in registry:
        raise UnknownProvider(
            f"unknown provider {ref.provider!r} in {value!r}; known providers: {', '.join(sorted(registry))}"
        )
    return ref


@dataclass(frozen=True)
class UpstreamCall:
    """One HTTP request to a provider, ready to send."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    wire_format: WireFormat
    stream: bool
    model: str = ""  # the model asked for: answers that do not name theirs (Bedrock) are labelled with it


@dataclass(frozen=True)
class ProviderConfig:
    """Everything resolved for one provider id: where it is and how to authenticate.

    ``key_env`` names the variable a missing key should be read from (for the error message);
    ``options`` carries family-specific settings (``api_version``, ``region``, …).
    """

    id: str
    base_url: str
    api_key: str | None = None
    key_env: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)


class HttpProvider:
    """Base of every provider family: the canonical request goes out through a format codec.

    Subclasses set ``wire_formats`` (preferred first) and ``client_auth_formats`` (the inbound
    formats whose client credentials may be forwarded), and override ``endpoint``/``auth_headers``.
    """

    wire_formats: tuple[WireFormat, ...] = ("anthropic",)
    client_auth_formats: tuple[str, ...] = ()
    # Client headers forwarded upstream when the client speaks ``client_auth_format``.
    forward_headers: tuple[str, ...] = ()
    # Answers ``POST /v1/messages/count_tokens`` under its base URL (Anthropic's API does); for the
    # others lynkr answers with its own estimate (``proxy/count_tokens.py``).
    counts_tokens: bool = False

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def wire_format_for(self, inbound: ApiFormat) -> WireFormat:
        """The client's own format when this provider speaks it, else the preferred one."""
        return inbound if inbound in self.wire_formats else self.wire_formats[0]

    def uses_client_credentials(self, inbound: str, client_headers: Mapping[str, str]) -> bool:
        """True when the client brought credentials of this family: they win over a configured key,
        so a subscription login or a per-project key keeps working exactly as without lynkr."""
        if inbound not in self.client_auth_formats:
            return False
        return any(h in client_headers for h in ("authorization", "x-api-key"))

    def check_credentials(self, inbound: str, client_headers: Mapping[str, str] | None = None) -> None:
        """Raise ``MissingCredential`` naming the variable when a request could not authenticate."""
        if self.config.api_key or self.config.key_env is None:
            return
        if client_headers is None and inbound in self.client_auth_formats:
            return  # checked per request: the client may bring its own key
        if client_headers is not None and self.uses_client_credentials(inbound, client_headers):
            return
        raise MissingCredential(
            f"provider {self.id!r} needs an API key: set {self.config.key_env} "
            f"(or api_key under [providers.{self.id}] in the config file)"
        )

    # -- building the request -------------------------------------------------------------------
    def build_call(
        self, request: ModelRequest, model: str, client_headers: Mapping[str, str], query: str = ""
    ) -> UpstreamCall:
        """The upstream request for ``request`` sent to ``model``. ``client_headers`` are lower-case;
        ``query`` is the client's query string, kept when the request passes through in its format."""
        wire = self.wire_format_for(request.inbound)
        self.check_credentials(request.inbound, client_headers)
        if wire != request.inbound:
            _check_stateless(request, self.id)
        body = self.encode_body(request, model, wire)
        headers = [("content-type", "application/json"), ("accept-encoding", "identity")]
        headers += self.auth_headers(request.inbound, client_headers, wire)
        headers += [(k.lower(), v) for k, v in self.config.headers.items()]
        url = self.endpoint(wire, model, request.stream)
        if query and wire == request.inbound:
            url = f"{url}?{query}"
        return UpstreamCall("POST", url, headers, body, wire, request.stream, model)

    def encode_body(self, request: ModelRequest, model: str, wire: WireFormat) -> bytes:
        from lynkr_cli.formats import codec

        return codec(wire).encode_request(request, model)

    def endpoint(self, wire: WireFormat, model: str, stream: bool) -> str:
        raise NotImplementedError

    def auth_headers(self, inbound: str, client_headers: Mapping[str, str], wire: WireFormat) -> list[tuple[str, str]]:
        """Credentials for the upstream: the configured key, else the client's own (same family)."""
        if self.uses_client_credentials(inbound, client_headers):
            return [(h, client_headers[h]) for h in self.forward_headers if h in client_headers]
        if self.config.api_key:
            return [("authorization", f"Bearer {self.config.api_key}")]
        return []

    # -- reading the response -------------------------------------------------------------------
    def stream_decoder(self, wire: WireFormat) -> StreamDecoder:
        """Upstream stream bytes -> canonical (Anthropic SSE) events, incrementally."""
        from lynkr_cli.formats import codec

        return codec(wire).stream_decoder()

    def decode_message(self, wire: WireFormat, body: Any) -> dict[str, Any]:
        """An upstream JSON answer -> one canonical Anthropic message."""
        from lynkr_cli.formats import codec

        return codec(wire).decode_message(body)

    def error_message(self, wire: WireFormat, status: int, body: bytes, content_type: str | None) -> str:
        """A one-line description of an upstream error answer, whatever its shape (JSON, HTML)."""
        from lynkr_cli.formats.errors import describe_upstream_error

        return describe_upstream_error(self.id, status, body, content_type)

    def models_url(self) -> str | None:
        """Where this provider lists its models (``GET``), if it has such an endpoint."""
        return None


def _check_stateless(request: ModelRequest, provider: str) -> None:
    """A Responses request that continues a conversation stored at OpenAI (``previous_response_id``,
    ``conversation``) cannot be translated: the other provider has no such conversation, and sending
    only the new input would silently answer without the earlier turns."""
    for key in ("previous_response_id", "conversation"):
        if request.extras.get(key):
            raise UsageError(
                f"{key} refers to a conversation stored at OpenAI, but this request goes to provider "
                f"{provider!r}, which has none; send the whole conversation in 'input' instead"
            )


@dataclass(frozen=True)
class ProviderPreset:
    """A provider id users can name in ``provider:model``: family, defaults, and its usual variables."""

    id: str
    family: Callable[[ProviderConfig], HttpProvider]
    default_base_url: str | None
    base_url_env: tuple[str, ...] = ()
    key_env: tuple[str, ...] = ()
    key_required: bool = True
    options_env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = ""

    def resolve(self, env: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> HttpProvider:
        """The provider configured from the config file's table (``overrides``) and ``env``.

        Config-file values win over environment variables, which win over the preset's defaults.
        """
        over = dict(overrides or {})
        base_url = over.get("base_url") or _first(env, self.base_url_env) or self.default_base_url
        if not base_url:
            names = " or ".join(self.base_url_env) or f"base_url under [providers.{self.id}]"
            raise MissingCredential(f"provider {self.id!r} needs a base URL: set {names}")
        key_names = ((over["api_key_env"],) if over.get("api_key_env") else ()) + self.key_env
        api_key = over.get("api_key") or _first(env, key_names)
        options = {name: value for name, names in self.options_env.items() if (value := _first(env, names))}
        options.update({k: str(v) for k, v in (over.get("options") or {}).items()})
        config = ProviderConfig(
            id=self.id,
            base_url=_normalize_base_url(base_url, self.default_base_url),
            api_key=api_key or None,
            key_env=key_names[0] if self.key_required and key_names else None,
            headers=dict(over.get("headers") or {}),
            options=options,
        )
        return self.family(config)


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = env.get(name)
        if value:
            return value
    return None


def host_url(value: str, default_port: int | None = 11434) -> str:
    """A base URL from a variable that may hold a URL, ``host:port`` or a bare host, read the way Ollama
    reads ``OLLAMA_HOST``: no scheme means http, and then no port means ``default_port``. Users set
    ``OLLAMA_HOST=0.0.0.0`` to make the server listen everywhere; its client then calls
    ``http://0.0.0.0:11434``, and so must lynkr (not port 80)."""
    text = value.strip().rstrip("/")
    if "://" in text:
        return text
    hostport, slash, path = text.partition("/")
    if default_port is not None and not re.search(r":\d+$", hostport):
        hostport = f"{hostport}:{default_port}"
    return f"http://{hostport}{slash}{path}"


def _normalize_base_url(url: str, default_url: str | None = None) -> str:
    """A scheme-less value (``OLLAMA_HOST=host:port`` or a bare host) gets http and, without a port, the
    port of the provider's default URL, as Ollama's own client does."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        from urllib.parse import urlsplit

        url = host_url(url, urlsplit(default_url).port if default_url else None)
    return url


_REGISTRY: dict[str, ProviderPreset] = {}
_loaded = False


def register(preset: ProviderPreset) -> None:
    """Add (or replace) a provider id; presets.py calls this once per built-in provider."""
    _REGISTRY[preset.id] = preset


def get_registry() -> Mapping[str, ProviderPreset]:
    """All known provider ids, loading the built-in presets on first use.

    The package's one import cycle, by design: ``presets`` imports the families, which subclass
    ``HttpProvider`` here, and registers them; loading it lazily keeps ``lynkr run``'s start light."""
    global _loaded
    if not _loaded:
        _loaded = True
        from lynkr_cli.providers import presets  # noqa: F401  (registers the built-ins)
    return _REGISTRY


def resolve_provider(
    provider_id: str, env: Mapping[str, str], overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> HttpProvider:
    """The configured provider for ``provider_id``; ``UnknownProvider`` lists the valid ids."""
    registry = get_registry()
    preset = registry.get(provider_id)
    custom = (overrides or {}).get(provider_id)
    if preset is None and custom and custom.get("base_url"):
        # Any OpenAI-compatible endpoint declared in the config file: [providers.together] base_url=…
        from lynkr_cli.providers.presets import custom_preset

        preset = custom_preset(provider_id, custom.get("api_key_env"))
    if preset is None:
        raise UnknownProvider(f"unknown provider {provider_id!r}; known providers: {', '.join(sorted(registry))}")
    return preset.resolve(env, (overrides or {}).get(provider_id))


class ProviderSet:
    """The providers of one proxy, resolved on first use from one environment snapshot and config.

    Resolution errors (unknown id, missing base URL) are raised per request, so they reach the client
    in its own format and the request is still recorded.
    """

    def __init__(self, env: Mapping[str, str], overrides: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.env = dict(env)
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        self._resolved: dict[str, HttpProvider] = {}

    def get(self, provider_id: str) -> HttpProvider:
        found = self._resolved.get(provider_id)
        if found is None:
            found = self._resolved[provider_id] = resolve_provider(provider_id, self.env, self.overrides)
        return found

    def known(self) -> set[str]:
        return set(get_registry()) | {k for k, v in self.overrides.items() if v.get("base_url")}
