"""AWS credentials and region from the standard sources, in the order the AWS CLI and SDKs use.

1. ``AWS_ACCESS_KEY_ID`` + ``AWS_SECRET_ACCESS_KEY`` (+ ``AWS_SESSION_TOKEN``) in the environment;
2. the profile ``AWS_PROFILE`` (else ``AWS_DEFAULT_PROFILE``, else ``default``) in the shared
   credentials file (``AWS_SHARED_CREDENTIALS_FILE``, default ``~/.aws/credentials``), then in the
   config file (``AWS_CONFIG_FILE``, default ``~/.aws/config``, sections ``[profile NAME]``);
3. that profile's ``credential_process`` (how vault users export credentials), run once and
   cached until shortly before the expiry it reports;
4. for a profile the AWS CLI resolves itself (IAM Identity Center/SSO, ``role_arn`` assume-role, web
   identity), ``aws configure export-credentials --profile NAME --format process`` used as its
   credential process when the ``aws`` CLI is installed (after ``aws sso login`` it just works).

The region comes from ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the profile's ``region``.
Everything is read from the mapping given (the process environment at startup), never from
``os.environ`` deep in a request. Missing credentials raise ``MissingCredential`` naming the
variables to set.
"""

from __future__ import annotations

import configparser
import json
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping

from lynkr_cli.errors import MissingCredential
from lynkr_cli.providers.sigv4 import AwsCredentials

_REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class AwsProfile:
    """What the environment and the shared files say, resolved once."""

    name: str
    region: str | None
    static: AwsCredentials | None
    credential_process: str | None


def load_profile(env: Mapping[str, str]) -> AwsProfile:
    name = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    home = Path(env.get("HOME") or Path.home())
    credentials_file = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials").expanduser()
    config_file = Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config").expanduser()
    from_credentials = _section(credentials_file, name)
    from_config = _section(config_file, name if name == "default" else f"profile {name}")
    if not from_config and name == "default":
        from_config = _section(config_file, "profile default")

    static = None
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        static = AwsCredentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN") or None)
    else:
        for section in (from_credentials, from_config):
            if section.get("aws_access_key_id") and section.get("aws_secret_access_key"):
                static = AwsCredentials(section["aws_access_key_id"], section["aws_secret_access_key"],
                                        section.get("aws_session_token") or None)
                break
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or from_config.get("region") or None
    process = from_config.get("credential_process") or from_credentials.get("credential_process") or None
    if static is None and process is None and (aws := _cli_for(from_config, from_credentials, env)):
        process = f"{shlex.quote(aws)} configure export-credentials --profile {shlex.quote(name)} --format process"
    return AwsProfile(name, region, static, process)


_CLI_KEYS = ("sso_session", "sso_start_url", "role_arn", "web_identity_token_file")


def _cli_for(config: Mapping[str, str], credentials: Mapping[str, str], env: Mapping[str, str]) -> str | None:
    """The AWS CLI's path when the profile needs its machinery (SSO tokens, STS calls) and it is here."""
    wants_cli = any(key in section for section in (config, credentials) for key in _CLI_KEYS)
    wants_cli = wants_cli or bool(env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("AWS_ROLE_ARN"))
    return shutil.which("aws", path=env.get("PATH")) if wants_cli else None


def _section(path: Path, name: str) -> dict[str, str]:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return {}
    return dict(parser.items(name)) if parser.has_section(name) else {}


class AwsCredentialSource:
    """Hands out valid credentials for each request; runs ``credential_process`` only when needed."""

    def __init__(self, profile: AwsProfile) -> None:
        self.profile = profile
        self._cached: AwsCredentials | None = None
        self._expires: datetime | None = None
        self._lock = threading.Lock()

    def get(self, now: datetime | None = None) -> AwsCredentials:
        if self.profile.static is not None:
            return self.profile.static
        if self.profile.credential_process:
            with self._lock:
                now = now or datetime.now(timezone.utc)
                if self._cached is None or (self._expires is not None and now >= self._expires - _REFRESH_MARGIN):
                    self._cached, self._expires = _run_process(self.profile.credential_process)
                return self._cached
        raise missing_credentials(self.profile.name)


def missing_credentials(profile: str) -> MissingCredential:
    return MissingCredential(
        "provider 'bedrock' needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        f"(and AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE naming a profile in ~/.aws/credentials "
        f"(profile {profile!r} has no keys or credential_process; for SSO profiles install the AWS CLI and run "
        "`aws sso login`), or a Bedrock API key in AWS_BEARER_TOKEN_BEDROCK"
    )


def _run_process(command: str) -> tuple[AwsCredentials, datetime | None]:
    """The credential_process protocol: JSON with Version 1, AccessKeyId, SecretAccessKey,
    SessionToken and an optional ISO 8601 Expiration on stdout."""
    try:
        result = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingCredential(f"AWS credential_process {command!r} could not run: {exc}") from exc
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        raise MissingCredential(f"AWS credential_process {command!r} failed: {detail[0][:200]}")
    try:
        data = json.loads(result.stdout)
        credentials = AwsCredentials(data["AccessKeyId"], data["SecretAccessKey"], data.get("SessionToken"))
    except (ValueError, KeyError, TypeError) as exc:
        raise MissingCredential(f"AWS credential_process {command!r} printed no usable credentials") from exc
    expires = None
    if data.get("Expiration"):
        try:
            expires = datetime.fromisoformat(str(data["Expiration"]).replace("Z", "+00:00"))
        except ValueError:
            expires = None
    return credentials, expires
