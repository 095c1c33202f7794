"""API keys: read from the environment or a file, held as SHA-256 hashes, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from indexer.errors import OfstedQAError
from indexer.settings import ApiSettings

HOW = (
    "Send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'. "
    "The operator sets keys in OFSTED_QA_API__API_KEYS or OFSTED_QA_API__API_KEYS_FILE."
)
CHALLENGE = 'Bearer realm="ofsted-qa", charset="UTF-8"'
_HASHED = re.compile(r"^sha256:([0-9a-f]{64})$")


def hash_key(key: str) -> bytes:
    """Return the SHA-256 digest of a key: the only form the server keeps."""
    return hashlib.sha256(key.encode()).digest()


def read_key_file(path: Path) -> list[bytes]:
    """Return the digests of the keys in a file (a key, or sha256:<hex>, a line; '#' comments)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise OfstedQAError(
            f"API key file {path} cannot be read ({exc.strerror}). Fix OFSTED_QA_API__API_KEYS_FILE or the file."
        ) from exc
    digests = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        hashed = _HASHED.match(line)
        digests.append(bytes.fromhex(hashed.group(1)) if hashed else hash_key(line))
    return digests


class KeyRing:
    """The hashed keys; check() compares a presented key with each one in constant time."""

    def __init__(self, digests: list[bytes]) -> None:
        self._digests = tuple(digests)

    @classmethod
    def from_settings(cls, api: ApiSettings) -> KeyRing:
        """Return the keys from the environment and the key file (plain keys are hashed at once)."""
        digests = [hash_key(k.get_secret_value()) for k in api.api_keys if k.get_secret_value()]
        if api.api_keys_file is not None:
            digests += read_key_file(api.api_keys_file)
        return cls(digests)

    def __bool__(self) -> bool:
        return bool(self._digests)

    def check(self, key: str) -> bool:
        """Return whether the key is one of ours (every digest is compared, so timing says nothing)."""
        presented = hash_key(key)
        found = False
        for digest in self._digests:
            found |= hmac.compare_digest(presented, digest)
        return found


def presented_key(request: Request) -> str | None:
    """Return the key in 'Authorization: Bearer …' or 'X-API-Key', if any."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": CHALLENGE})


def authenticate(request: Request) -> None:
    """Raise 401 saying how to authenticate unless the request carries one of the server's keys."""
    keys: KeyRing = request.app.state.keys
    if not keys:
        raise _unauthorized(
            "This endpoint needs an API key and none is configured on this server. The operator sets keys in "
            "OFSTED_QA_API__API_KEYS or OFSTED_QA_API__API_KEYS_FILE; then send one as 'Authorization: Bearer <key>'."
        )
    key = presented_key(request)
    if key is None:
        raise _unauthorized("This endpoint needs an API key. " + HOW)
    if not keys.check(key):
        raise _unauthorized("The API key sent is not valid. " + HOW)


def require_read_key(request: Request) -> None:
    """Authenticate a read when the operator keys reads (read_requires_key)."""
    if request.app.state.settings.api.read_requires_key:
        authenticate(request)


WriteKey = Annotated[None, Depends(authenticate)]
ReadKey = Depends(require_read_key)
