"""Databricks Model Serving: ``databricks:<serving endpoint name>``.

Calls ``POST {workspace}/serving-endpoints/{endpoint}/invocations`` with a Chat Completions body (the
format Databricks' foundation-model and external-model endpoints take, Claude and Llama alike) and a
workspace token (``DATABRICKS_TOKEN``, or Lynkr's ``DATABRICKS_API_KEY``). The endpoint is named in
the URL, so the body carries no ``model`` field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from lynkr_cli.providers.base import HttpProvider, ProviderConfig, WireFormat

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest

_DATABRICKS_DOMAINS = (".cloud.databricks.com", ".azuredatabricks.net", ".gcp.databricks.com")


class DatabricksProvider(HttpProvider):
    wire_formats: tuple[WireFormat, ...] = ("openai-chat",)

    def __init__(self, config: ProviderConfig) -> None:
        # DATABRICKS_HOST is often given without a scheme; workspaces only speak HTTPS.
        host = urlsplit(config.base_url).hostname or ""
        if config.base_url.startswith("http://") and host.endswith(_DATABRICKS_DOMAINS):
            from dataclasses import replace

            config = replace(config, base_url="https://" + config.base_url[len("http://") :])
        super().__init__(config)

    @property
    def workspace(self) -> str:
        base = self.base_url
        for suffix in ("/serving-endpoints", "/api/2.0"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        return base

    def endpoint(self, wire: WireFormat, model: str, stream: bool) -> str:
        return f"{self.workspace}/serving-endpoints/{quote(model, safe='')}/invocations"

    def encode_body(self, request: ModelRequest, model: str, wire: WireFormat) -> bytes:
        from lynkr_cli.formats.jsonio import dumps, loads

        body = loads(super().encode_body(request, model, wire))
        body.pop("model", None)
        return dumps(body)
