"""Amazon Bedrock through the Converse API: ``bedrock:<model id or inference profile>``.

Requests go to ``POST {endpoint}/model/{modelId}/converse`` (or ``/converse-stream``), translated by
``providers/converse.py`` and signed with SigV4 (``providers/sigv4.py``) using the standard AWS
credential sources (``providers/aws_auth.py``). A Bedrock API key (``AWS_BEARER_TOKEN_BEDROCK``, or
Lynkr's ``AWS_BEDROCK_API_KEY``) is sent as a bearer token instead, with no signing.

The endpoint is ``https://bedrock-runtime.{region}.amazonaws.com`` unless
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` / ``AWS_ENDPOINT_URL`` (the AWS SDKs' own override variables)
or the config file name another one (a VPC endpoint, a gateway, a test double).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import quote

from lynkr_cli.errors import MissingCredential
from lynkr_cli.providers.base import HttpProvider, ProviderConfig, UpstreamCall, WireFormat

if TYPE_CHECKING:
    from lynkr_cli.canonical import ApiFormat, ModelRequest
    from lynkr_cli.providers.aws_auth import AwsCredentialSource
    from lynkr_cli.providers.converse import ConverseStreamDecoder

DEFAULT_ENDPOINT = "https://bedrock-runtime.{region}.amazonaws.com"
SERVICE = "bedrock"
# Options (from the environment or [providers.bedrock].options) handed to the AWS profile loader.
OPTIONS_ENV: dict[str, tuple[str, ...]] = {
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "profile": ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"),
    "access_key_id": ("AWS_ACCESS_KEY_ID",),
    "secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "session_token": ("AWS_SESSION_TOKEN",),
    "shared_credentials_file": ("AWS_SHARED_CREDENTIALS_FILE",),
    "config_file": ("AWS_CONFIG_FILE",),
    "home": ("HOME",),
    "path": ("PATH",),
    "web_identity_token_file": ("AWS_WEB_IDENTITY_TOKEN_FILE",),
    "role_arn": ("AWS_ROLE_ARN",),
}
_AWS_NAMES = {
    "profile": "AWS_PROFILE", "access_key_id": "AWS_ACCESS_KEY_ID", "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "session_token": "AWS_SESSION_TOKEN", "shared_credentials_file": "AWS_SHARED_CREDENTIALS_FILE",
    "config_file": "AWS_CONFIG_FILE", "home": "HOME", "region": "AWS_REGION", "path": "PATH",
    "web_identity_token_file": "AWS_WEB_IDENTITY_TOKEN_FILE", "role_arn": "AWS_ROLE_ARN",
}


class BedrockProvider(HttpProvider):
    wire_formats: tuple[WireFormat, ...] = ("bedrock",)

    def __init__(self, config: ProviderConfig, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(config)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._source: AwsCredentialSource | None = None
        self._region: str | None = None

    # -- where and who -----------------------------------------------------------------------
    def _aws(self) -> tuple[AwsCredentialSource, str]:
        """Credentials and region, read from the options (the environment at startup) once."""
        if self._source is None:
            from lynkr_cli.providers.aws_auth import AwsCredentialSource, load_profile

            env = {_AWS_NAMES[k]: v for k, v in self.config.options.items() if k in _AWS_NAMES and v}
            profile = load_profile(env)
            self._source = AwsCredentialSource(profile)
            self._region = profile.region
        if not self._region:
            raise MissingCredential(
                "provider 'bedrock' needs an AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or region "
                "in your AWS profile, or options.region under [providers.bedrock])"
            )
        return self._source, self._region

    @property
    def endpoint_base(self) -> str:
        base = self.config.base_url
        if "{region}" in base:
            base = base.replace("{region}", self._aws()[1])
        return base

    @property
    def base_url(self) -> str:
        """The endpoint with its region filled in when one is configured (for messages, doctor)."""
        try:
            return self.endpoint_base
        except MissingCredential:
            return self.config.base_url

    def endpoint(self, wire: WireFormat, model: str, stream: bool) -> str:
        operation = "converse-stream" if stream else "converse"
        # Model ids carry ':' (…-v1:0) and ARNs carry '/'; both are escaped in the path.
        return f"{self.endpoint_base}/model/{quote(model, safe='')}/{operation}"

    def check_credentials(self, inbound: str, client_headers: Mapping[str, str] | None = None) -> None:
        """Fail before the agent starts when no credentials could ever be found."""
        if self.config.api_key:
            return
        source, _ = self._aws()
        if source.profile.static is None and not source.profile.credential_process:
            from lynkr_cli.providers.aws_auth import missing_credentials

            raise missing_credentials(source.profile.name)

    # -- the request -------------------------------------------------------------------------
    def wire_format_for(self, inbound: ApiFormat) -> WireFormat:
        return "bedrock"

    def encode_body(self, request: ModelRequest, model: str, wire: WireFormat) -> bytes:
        from lynkr_cli.formats.cache_points import with_breakpoints
        from lynkr_cli.formats.jsonio import dumps
        from lynkr_cli.providers.converse import encode_request

        body = request.body if request.inbound == "anthropic" else with_breakpoints(request.body)
        return dumps(encode_request(body, model))

    def build_call(
        self, request: ModelRequest, model: str, client_headers: Mapping[str, str], query: str = ""
    ) -> UpstreamCall:
        body = self.encode_body(request, model, "bedrock")
        url = self.endpoint("bedrock", model, request.stream)
        headers = [("content-type", "application/json")]
        if self.config.api_key:
            headers.append(("authorization", f"Bearer {self.config.api_key}"))
        else:
            from lynkr_cli.providers.sigv4 import sign

            source, region = self._aws()
            signed = sign("POST", url, headers, body, source.get(), region, SERVICE, self._clock())
            headers += signed.headers
        # Added after signing: not covered by the signature, so nothing on the way may break it.
        accept = "application/vnd.amazon.eventstream" if request.stream else "application/json"
        headers += [("accept", accept), ("accept-encoding", "identity")]
        headers += [(k.lower(), v) for k, v in self.config.headers.items()]
        return UpstreamCall("POST", url, headers, body, "bedrock", request.stream, model)

    # -- the response ------------------------------------------------------------------------
    def error_message(self, wire: WireFormat, status: int, body: bytes, content_type: str | None) -> str:
        message = super().error_message(wire, status, body, content_type)
        if b"inference profile" in body and b"on-demand throughput" in body:
            # Newer Claude models are served only through cross-region inference profiles.
            message += "; name the model by its inference profile, e.g. bedrock:us.anthropic.… (or eu./apac.)"
        return message

    def stream_decoder(self, wire: WireFormat) -> ConverseStreamDecoder:
        from lynkr_cli.providers.converse import ConverseStreamDecoder

        return ConverseStreamDecoder()

    def decode_message(self, wire: WireFormat, body: Any) -> dict[str, Any]:
        from lynkr_cli.providers.converse import decode_message

        return decode_message(body)
