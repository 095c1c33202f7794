"""API keys: writes need one, reads can be keyed, keys are held hashed; 401 says how to authenticate."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
from pydantic import SecretStr

from api.engine import Engine
from api.security import KeyRing, hash_key, read_key_file
from tests.conftest import LiveServer, engine_with


def test_key_file_takes_plain_and_hashed_keys_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# operators\nplain-key\nsha256:{hashlib.sha256(b'hashed-key').hexdigest()}  # ci\n\n")
    ring = KeyRing(read_key_file(path))
    assert ring.check("plain-key") and ring.check("hashed-key") and not ring.check("other")
    assert read_key_file(path)[0] == hash_key("plain-key")  # the plain key itself is not kept


def test_writes_need_a_key_and_401_says_how(engine: Engine, tmp_path: Path) -> None:
    eng = engine_with(engine, tmp_path, api_keys=[SecretStr("s3cret")])
    with LiveServer(eng, eng.settings) as server:
        for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
            r = httpx.delete(f"{server.url}/reports/peterborough-ilacs-2023", headers=headers)
            assert r.status_code == 401
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert "'Authorization: Bearer <key>' or 'X-API-Key: <key>'" in r.json()["detail"]
        assert "not valid" in httpx.get(f"{server.url}/jobs/x", headers={"X-API-Key": "no"}).json()["detail"]
        ok = httpx.get(f"{server.url}/jobs/nothing", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 404 and "No job 'nothing'" in ok.json()["detail"]
        assert httpx.get(f"{server.url}/reports").status_code == 200  # reads are open by default


def test_without_configured_keys_writes_are_refused_saying_how_to_configure(live_server: str) -> None:
    r = httpx.delete(f"{live_server}/reports/peterborough-ilacs-2023", headers={"X-API-Key": "anything"})
    assert r.status_code == 401 and "none is configured on this server" in r.json()["detail"]


def test_reads_can_be_keyed(engine: Engine, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("reader-key\n")
    eng = engine_with(engine, tmp_path, api_keys_file=keys, read_requires_key=True)
    with LiveServer(eng, eng.settings) as server:
        assert httpx.get(f"{server.url}/reports").status_code == 401
        assert httpx.post(f"{server.url}/ask", json={"question": "q"}).status_code == 401
        assert httpx.get(f"{server.url}/reports", headers={"X-API-Key": "reader-key"}).status_code == 200
        assert httpx.get(f"{server.url}/health").status_code == 200  # liveness stays open for orchestrators
