"""Azure OpenAI (deployments, ``api-version``) and Claude in Azure AI Foundry (Anthropic Messages).

``azure-openai:<deployment>``: the model part is the *deployment name*. Chat Completions go to
``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`` and Responses (Codex)
to ``{endpoint}/openai/responses?api-version=…`` with the deployment as ``model``. An endpoint that
already ends in ``/openai/v1`` (Azure's v1 API) takes OpenAI's own paths and no api-version.
Authentication: ``api-key: $AZURE_OPENAI_API_KEY``, or a Microsoft Entra ID token in
``AZURE_OPENAI_AD_TOKEN`` sent as a bearer token, or else one from the Azure CLI after ``az login``
(``providers/azure_auth.py``).

``azure-anthropic:<deployment>``: ``https://{resource}.services.ai.azure.com/anthropic/v1/messages``
with ``x-api-key``; the client's ``anthropic-version``/``anthropic-beta`` headers are kept, its own
Anthropic credentials are never sent to Azure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping
from urllib.parse import quote

from lynkr_cli.errors import MissingCredential
from lynkr_cli.providers.anthropic import ANTHROPIC_VERSION, AnthropicProvider
from lynkr_cli.providers.base import HttpProvider, UpstreamCall, WireFormat

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.providers.azure_auth import AzureCliToken

# Recent enough for both Chat Completions and Responses on Azure.
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"


class AzureOpenAIProvider(HttpProvider):
    # Chat first: every Azure deployment serves it; Responses only for the client that speaks it.
    wire_formats: tuple[WireFormat, ...] = ("openai-chat", "openai-responses")

    @property
    def api_version(self) -> str:
        return self.config.options.get("api_version") or DEFAULT_AZURE_API_VERSION

    @property
    def _resource(self) -> str:
        base = self.base_url
        return base[: -len("/openai")] if base.endswith("/openai") else base

    def endpoint(self, wire: WireFormat, model: str, stream: bool) -> str:
        base = self._resource
        if base.endswith("/openai/v1"):
            return f"{base}/responses" if wire == "openai-responses" else f"{base}/chat/completions"
        if wire == "openai-responses":
            return f"{base}/openai/responses?api-version={quote(self.api_version)}"
        return f"{base}/openai/deployments/{quote(model, safe='')}/chat/completions?api-version={quote(self.api_version)}"

    _cli_token: AzureCliToken | None = None

    def _entra_from_cli(self) -> AzureCliToken | None:
        """No key and no token given: Entra ID through the Azure CLI, when it is installed."""
        if self._cli_token is None:
            from lynkr_cli.providers.azure_auth import AzureCliToken, az_cli

            path = self.config.options.get("path")  # the environment's PATH; none given: do not look
            az = az_cli(path) if path else None
            self._cli_token = AzureCliToken(az) if az else None
        return self._cli_token

    def check_credentials(self, inbound: str, client_headers: Mapping[str, str] | None = None) -> None:
        if self.config.api_key or self.config.options.get("ad_token") or self._entra_from_cli():
            return
        raise MissingCredential(
            f"provider {self.id!r} needs a key: set AZURE_OPENAI_API_KEY (or a Microsoft Entra ID token in "
            f"AZURE_OPENAI_AD_TOKEN, or install the Azure CLI and run `az login`, or api_key under "
            f"[providers.{self.id}] in the config file)"
        )

    def auth_headers(self, inbound: str, client_headers: Mapping[str, str], wire: WireFormat) -> list[tuple[str, str]]:
        if self.config.api_key:
            return [("api-key", self.config.api_key)]
        token = self.config.options.get("ad_token")
        if not token:
            cli = self._entra_from_cli()
            if cli is None:
                self.check_credentials("")
            token = cli.get()  # type: ignore[union-attr]
        return [("authorization", f"Bearer {token}")]

    def build_call(
        self, request: ModelRequest, model: str, client_headers: Mapping[str, str], query: str = ""
    ) -> UpstreamCall:
        # The client's query string (if any) is for OpenAI, not Azure: the URL carries api-version.
        return super().build_call(request, model, client_headers, "")


class AzureAnthropicProvider(AnthropicProvider):
    client_auth_formats: tuple[str, ...] = ()
    counts_tokens = False  # not documented for Foundry's Anthropic endpoint: lynkr estimates

    @property
    def base_url(self) -> str:
        """The endpoint with the Foundry resource filled in when one is configured."""
        try:
            return self.messages_base
        except MissingCredential:
            return self.config.base_url

    @property
    def messages_base(self) -> str:
        base = self.config.base_url
        if "{resource}" in base:  # the default, filled from Claude Code's ANTHROPIC_FOUNDRY_RESOURCE
            resource = self.config.options.get("resource")
            if not resource:
                raise MissingCredential(
                    f"provider {self.id!r} needs an endpoint: set AZURE_ANTHROPIC_ENDPOINT (e.g. "
                    "https://RESOURCE.services.ai.azure.com/anthropic) or ANTHROPIC_FOUNDRY_RESOURCE"
                )
            base = base.replace("{resource}", resource)
        for suffix in ("/v1/messages", "/v1"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        if base.endswith(".services.ai.azure.com"):
            base += "/anthropic"
        return base

    def endpoint(self, wire: WireFormat, model: str, stream: bool) -> str:
        return f"{self.messages_base}/v1/messages"

    def models_url(self) -> str | None:
        return None

    def check_credentials(self, inbound: str, client_headers: Mapping[str, str] | None = None) -> None:
        self.messages_base  # noqa: B018  (raises when no endpoint is configured)
        if self.config.api_key or self.config.options.get("ad_token"):
            return
        raise MissingCredential(
            f"provider {self.id!r} needs a key: set AZURE_ANTHROPIC_API_KEY (or ANTHROPIC_FOUNDRY_API_KEY, or a "
            f"Microsoft Entra ID token in AZURE_ANTHROPIC_AD_TOKEN, or api_key under [providers.{self.id}])"
        )

    def auth_headers(self, inbound: str, client_headers: Mapping[str, str], wire: WireFormat) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        if inbound == "anthropic":
            keep = ("anthropic-version", "anthropic-beta")
            headers = [(k, v) for k, v in client_headers.items() if k in keep]
        if not any(k == "anthropic-version" for k, _ in headers):
            headers.append(("anthropic-version", ANTHROPIC_VERSION))
        if self.config.api_key:
            headers.append(("x-api-key", self.config.api_key))
        else:
            headers.append(("authorization", f"Bearer {self.config.options['ad_token']}"))
        return headers

