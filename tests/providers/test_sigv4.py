"""The SigV4 signer replays cases of AWS's published signature test suite (aws-sig-v4-test-suite):
fixed credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z, region us-east-1, service ``service``. The
expected signatures are the suite's; a wrong canonical form anywhere changes them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from lynkr_cli.providers.sigv4 import AwsCredentials, sign

WHEN = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
KEY = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
STS_TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIY"
    "RqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp"
    "75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9F"
    "X9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)
HOST = [("Host", "example.amazonaws.com")]

# (suite case, method, path and query, extra headers, body, session token, normalize, sign body, signature)
CASES = [
    ("get-vanilla", "GET", "/", [], b"", None, True, False,
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", [], b"", None, True, False,
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("get-vanilla-query-order-encoded", "GET", "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1", [], b"", None,
     True, False, "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"),
    ("get-vanilla-utf8-query", "GET", "/?\u1234=bar", [], b"", None, True, False,
     "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
    ("get-utf8", "GET", "/\u1234", [], b"", None, True, False,
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
    ("get-space-unnormalized", "GET", "/example space/", [], b"", None, False, False,
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
    ("get-slashes-normalized", "GET", "//example//", [], b"", None, True, False,
     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
    ("get-slashes-unnormalized", "GET", "//example//", [], b"", None, False, False,
     "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"),
    ("get-slash-pointless-dot-normalized", "GET", "/./example", [], b"", None, True, False,
     "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"),
    ("get-relative-relative-normalized", "GET", "/example1/example2/../..", [], b"", None, True, False,
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-header-value-trim", "GET", "/", [("My-Header1", " value1"), ("My-Header2", ' "a   b   c"')], b"",
     None, True, False, "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    ("get-header-value-order", "GET", "/", [("My-Header1", v) for v in ("value4", "value1", "value3", "value2")],
     b"", None, True, False, "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
    ("get-header-value-multiline", "GET", "/", [("My-Header1", "value1\n  value2\n     value3")], b"", None,
     True, False, "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd"),
    ("post-header-value-case", "POST", "/", [("My-Header1", "VALUE1")], b"", None, True, False,
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
    ("post-vanilla-query", "POST", "/?Param1=value1", [], b"", None, True, False,
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
    ("get-vanilla-with-session-token", "GET", "/", [], b"",
     "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267", True, False,
     "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"),
    ("post-sts-header-before", "POST", "/", [], b"", STS_TOKEN, True, False,
     "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    ("post-x-www-form-urlencoded", "POST", "/",
     [("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "13")], b"Param1=value1", None,
     True, True, "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"),
    ("post-x-www-form-urlencoded-parameters", "POST", "/",
     [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Content-Length", "13")],
     b"Param1=value1", None, True, True, "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_aws_signature_suite(case: tuple) -> None:
    _, method, target, headers, body, token, normalize, sign_body, expected = case
    credentials = AwsCredentials(KEY.access_key_id, KEY.secret_access_key, token)
    signed = sign(
        method, "https://example.amazonaws.com" + target, HOST + headers, body, credentials, "us-east-1",
        "service", WHEN, normalize_path=normalize, content_sha256_header=sign_body, sign_content_length=True,
    )
    assert signed.signature == expected
    authorization = dict(signed.headers)["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ")
    assert authorization.endswith(f", Signature={expected}")
    if token:
        assert dict(signed.headers)["x-amz-security-token"] == token


def test_get_vanilla_intermediate_strings() -> None:
    """The canonical request and string to sign of the suite's simplest case, line by line."""
    signed = sign("GET", "https://example.amazonaws.com/", [], b"", KEY, "us-east-1", "service", WHEN)
    assert signed.canonical_request == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert signed.string_to_sign.splitlines()[:3] == [
        "AWS4-HMAC-SHA256", "20150830T123600Z", "20150830/us-east-1/service/aws4_request"
    ]
    assert dict(signed.headers)["x-amz-date"] == "20150830T123600Z"


def test_bedrock_model_id_colon_is_signed_double_encoded() -> None:
    """Bedrock model ids contain ``:``; sent as ``%3A``, AWS expects the path encoded once more
    (``%253A``) in the canonical request, as botocore does for every service but S3."""
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    signed = sign("POST", url, [("content-type", "application/json")], b"{}", KEY, "us-east-1", "bedrock", WHEN)
    assert signed.canonical_request.splitlines()[1] == (
        "/model/anthropic.claude-3-5-sonnet-20241022-v2%253A0/converse"
    )
    assert "SignedHeaders=content-type;host;x-amz-date," in dict(signed.headers)["authorization"]


def test_secret_never_in_repr() -> None:
    assert "EXAMPLEKEY" not in repr(KEY)
