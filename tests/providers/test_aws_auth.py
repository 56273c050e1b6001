"""AWS credentials and region come from the same places the AWS CLI reads them."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lynkr_cli.errors import MissingCredential
from lynkr_cli.providers.aws_auth import AwsCredentialSource, load_profile


def write_aws_files(home: Path, credentials: str = "", config: str = "") -> None:
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    (home / ".aws" / "credentials").write_text(credentials)
    (home / ".aws" / "config").write_text(config)


def test_environment_keys_win(tmp_path: Path) -> None:
    write_aws_files(tmp_path, "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n")
    env = {"HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret",
           "AWS_SESSION_TOKEN": "tok", "AWS_DEFAULT_REGION": "eu-west-3"}
    profile = load_profile(env)
    credentials = AwsCredentialSource(profile).get()
    assert (credentials.access_key_id, credentials.secret_access_key, credentials.session_token) == ("ENVKEY", "envsecret", "tok")
    assert profile.region == "eu-west-3"


def test_named_profile_from_shared_files(tmp_path: Path) -> None:
    write_aws_files(
        tmp_path,
        "[default]\naws_access_key_id = D\naws_secret_access_key = d\n"
        "[work]\naws_access_key_id = WORKKEY\naws_secret_access_key = worksecret\naws_session_token = wt\n",
        "[default]\nregion = us-east-1\n[profile work]\nregion = ap-northeast-1\n",
    )
    profile = load_profile({"HOME": str(tmp_path), "AWS_PROFILE": "work"})
    assert profile.region == "ap-northeast-1"
    assert AwsCredentialSource(profile).get().access_key_id == "WORKKEY"
    assert AwsCredentialSource(profile).get().session_token == "wt"
    # AWS_REGION beats the profile's region
    assert load_profile({"HOME": str(tmp_path), "AWS_PROFILE": "work", "AWS_REGION": "us-west-2"}).region == "us-west-2"


def test_credential_process_is_run_and_cached_until_expiry(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    expires = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    script = tmp_path / "creds.py"
    script.write_text(
        "import json, pathlib\n"
        f"p = pathlib.Path({str(counter)!r}); n = int(p.read_text()) + 1 if p.exists() else 1; p.write_text(str(n))\n"
        f"print(json.dumps({{'Version': 1, 'AccessKeyId': f'PROC{{n}}', 'SecretAccessKey': 's', "
        f"'SessionToken': 't', 'Expiration': {expires!r}}}))\n"
    )
    write_aws_files(tmp_path, "", f"[profile sso]\nregion = us-east-2\ncredential_process = {sys.executable} {script}\n")
    source = AwsCredentialSource(load_profile({"HOME": str(tmp_path), "AWS_PROFILE": "sso"}))
    assert source.get().access_key_id == "PROC1"
    assert source.get().access_key_id == "PROC1"  # cached
    later = datetime.now(timezone.utc) + timedelta(minutes=58)
    assert source.get(now=later).access_key_id == "PROC2"  # refreshed near expiry


def test_missing_credentials_name_the_variables(tmp_path: Path) -> None:
    source = AwsCredentialSource(load_profile({"HOME": str(tmp_path)}))
    with pytest.raises(MissingCredential) as info:
        source.get()
    message = str(info.value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK"):
        assert name in message


def test_failing_credential_process_is_a_clear_error(tmp_path: Path) -> None:
    write_aws_files(tmp_path, "", "[default]\ncredential_process = false\n")
    with pytest.raises(MissingCredential, match="credential_process"):
        AwsCredentialSource(load_profile({"HOME": str(tmp_path)})).get()


def test_sso_profile_uses_the_aws_cli_to_export_credentials(tmp_path: Path) -> None:
    """An IAM Identity Center profile works as with the AWS CLI: lynkr asks the installed ``aws`` for
    the credentials it holds after ``aws sso login``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        "assert sys.argv[1:] == ['configure', 'export-credentials', '--profile', 'dev', '--format', 'process'], sys.argv\n"
        "print(json.dumps({'Version': 1, 'AccessKeyId': 'ASIASSO', 'SecretAccessKey': 's', 'SessionToken': 'sso-tok'}))\n"
    )
    aws.chmod(0o755)
    write_aws_files(tmp_path, "", "[profile dev]\nsso_session = corp\nsso_account_id = 1\nregion = us-west-2\n")
    env = {"HOME": str(tmp_path), "AWS_PROFILE": "dev", "PATH": str(bin_dir)}
    credentials = AwsCredentialSource(load_profile(env)).get()
    assert (credentials.access_key_id, credentials.session_token) == ("ASIASSO", "sso-tok")
    # Without the CLI there is nothing to ask: the error says what to do.
    with pytest.raises(MissingCredential, match="aws sso login"):
        AwsCredentialSource(load_profile(dict(env, PATH=str(tmp_path / "empty")))).get()
