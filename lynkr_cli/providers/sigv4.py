"""AWS Signature Version 4 for requests to Bedrock, written on hashlib/hmac.

Why not botocore: importing it costs about a second and lynkr signs a handful of headers per request;
the algorithm is short and fully specified by AWS's published test suite, which the tests replay
(``tests/providers/test_sigv4.py``). Only header signing is implemented (no presigned URLs, no
chunked payload signing), which is all the Bedrock runtime API needs.

Guarantees: the same request, credentials and clock give the same ``Authorization`` header; the path
is encoded the way AWS services other than S3 expect (the path *as sent* is URI-encoded once more, so a
model id's ``:`` sent as ``%3A`` is signed as ``%253A``, as botocore does).
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# botocore never signs these: proxies and clients may add or rewrite them on the way.
_UNSIGNED = frozenset({"authorization", "user-agent", "expect", "x-amzn-trace-id", "content-length"})


@dataclass(frozen=True)
class AwsCredentials:
    """An access key pair, with the session token of temporary (STS/SSO) credentials."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, secret_access_key=***)"


@dataclass(frozen=True)
class Signed:
    """The headers to add to the request, and the intermediate strings (for tests and debugging)."""

    headers: list[tuple[str, str]]
    canonical_request: str
    string_to_sign: str
    signature: str


def amz_date(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def sign(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime,
    *,
    normalize_path: bool = True,
    content_sha256_header: bool = False,
    sign_content_length: bool = False,
) -> Signed:
    """Sign one request; returns the headers to add (``x-amz-date``, token, ``authorization``).

    ``headers`` are the ones that will be sent (``host`` is taken from the URL when absent); all of
    them are signed except the few proxies rewrite. ``content_sha256_header`` adds and signs
    ``x-amz-content-sha256`` (S3-style services want it; Bedrock does not).
    """
    parts = urlsplit(url)
    date = amz_date(now)
    payload_hash = hashlib.sha256(body).hexdigest()
    added: list[tuple[str, str]] = [("x-amz-date", date)]
    if credentials.session_token:
        added.append(("x-amz-security-token", credentials.session_token))
    if content_sha256_header:
        added.append(("x-amz-content-sha256", payload_hash))

    given = list(headers)
    if not any(k.lower() == "host" for k, _ in given):
        given.insert(0, ("host", parts.netloc))
    unsigned = _UNSIGNED - ({"content-length"} if sign_content_length else set())
    names, canonical_headers = _canonical_headers(given + added, unsigned)

    canonical_request = "\n".join(
        [
            method.upper(),
            _canonical_path(parts.path or "/", normalize_path),
            _canonical_query(parts.query),
            canonical_headers,
            names,
            payload_hash,
        ]
    )
    scope = f"{date[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = signing_key(credentials.secret_access_key, date[:8], region, service)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return Signed(added + [("authorization", authorization)], canonical_request, string_to_sign, signature)


def signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    """The derived key: HMAC chain over date, region, service and the fixed terminator."""
    key = _hmac(("AWS4" + secret).encode(), day)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _uri_encode(text: str, safe: str = "") -> str:
    """RFC 3986 encoding with AWS's unreserved set (``-._~`` and alphanumerics)."""
    return quote(text, safe="-_.~" + safe)


def _canonical_path(path: str, normalize: bool) -> str:
    if normalize:
        trailing = path.endswith("/") and path != "/"
        collapsed = "/" + "/".join(segment for segment in path.split("/") if segment)
        path = posixpath.normpath(collapsed)
        if path.startswith("//"):
            path = path[1:]
        if trailing and not path.endswith("/"):
            path += "/"
    return _uri_encode(path, safe="/")


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((_uri_encode(unquote(key)), _uri_encode(unquote(value))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_headers(headers: list[tuple[str, str]], unsigned: frozenset[str] | set[str]) -> tuple[str, str]:
    """Lowercased names, sorted; values trimmed with inner runs of whitespace collapsed; repeated
    names joined with commas in the order given."""
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        lower = name.lower()
        if lower in unsigned:
            continue
        merged.setdefault(lower, []).append(" ".join(str(value).split()))
    names = sorted(merged)
    lines = "".join(f"{name}:{','.join(merged[name])}\n" for name in names)
    return ";".join(names), lines
