"""Uploads, removals and hot reload against a real server: jobs, checks by content, atomic generation swaps."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from api.engine import Engine
from indexer.store import build_index
from tests.conftest import DATA, SEED_LETTER, LiveServer, engine_copy
from tests.pdfs import blank_pdf, encrypted_pdf

KEY = {"Authorization": "Bearer writer"}
LUTON = DATA / "luton-focused-visit-2024-09-09.pdf"


@pytest.fixture()
def writable(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    eng = engine_copy(engine, tmp_path, api_keys=[SecretStr("writer")], reload_poll_s=0.2)
    with LiveServer(eng, eng.settings) as server:
        yield server.url, eng


def wait_for_job(url: str, job_id: str, timeout_s: float = 180) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/jobs/{job_id}", headers=KEY).json()
        if job["state"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_upload_adds_a_report_then_delete_removes_it(writable) -> None:  # type: ignore[no-untyped-def]
    url, eng = writable
    before = httpx.get(f"{url}/ready").json()["generation"]
    # named .txt but holding a PDF: the type is read from the bytes
    files = {"file": ("../../etc/whatever.txt", LUTON.read_bytes(), "text/plain")}
    r = httpx.post(f"{url}/reports", files=files, data={"document_id": "luton-focused-visit-2024-09-09"}, headers=KEY)
    assert r.status_code == 202 and r.json()["state"] in ("queued", "running", "done")
    job = wait_for_job(url, r.json()["id"])
    assert job["state"] == "done", job["detail"]
    assert job["generation"] != before and httpx.get(f"{url}/ready").json()["generation"] == job["generation"]
    ids = [x["document_id"] for x in httpx.get(f"{url}/reports").json()]
    assert "luton-focused-visit-2024-09-09" in ids and len(ids) == 3
    assert sorted(p.name for p in eng.settings.api.uploads_dir.iterdir()) == ["luton-focused-visit-2024-09-09.pdf"]
    assert httpx.get(f"{url}/reports/luton-focused-visit-2024-09-09/pdf").status_code == 200

    r = httpx.delete(f"{url}/reports/luton-focused-visit-2024-09-09", headers=KEY)
    job = wait_for_job(url, r.json()["id"])
    assert (
        job["state"] == "done"
        and job["detail"] == "Removed luton-focused-visit-2024-09-09: the index now holds 2 reports."
    )
    assert httpx.get(f"{url}/reports/luton-focused-visit-2024-09-09").status_code == 404
    assert len(httpx.get(f"{url}/coverage").json()["authorities"]) == 1
    assert list(eng.settings.api.uploads_dir.iterdir()) == []
    assert httpx.delete(f"{url}/reports/luton-focused-visit-2024-09-09", headers=KEY).status_code == 404


@pytest.mark.parametrize(
    ("name", "data", "status", "detail"),
    [
        ("empty.pdf", b"", 422, "the file is empty"),
        ("blank.pdf", b"   \n", 422, "the file is empty"),
        ("photo.pdf", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 422, "binary data, neither a PDF nor text"),
        ("locked.pdf", encrypted_pdf(), 422, "the PDF is encrypted (password-protected)"),
        ("cut.pdf", LUTON.read_bytes()[:5000], 422, "not a readable PDF, damaged or truncated"),
        ("scan.pdf", blank_pdf(), 422, "no report paragraphs found"),
        ("notes.txt", b"Shopping list: eggs, milk.", 422, "no report paragraphs found"),
        ("....pdf", SEED_LETTER.read_bytes(), 422, "gives no usable report id"),
    ],
)
def test_bad_uploads_are_refused_with_the_reason(writable, name, data, status, detail) -> None:  # type: ignore[no-untyped-def]
    url, eng = writable
    r = httpx.post(f"{url}/reports", files={"file": (name, data, "application/pdf")}, headers=KEY)
    assert r.status_code == status and detail in r.json()["detail"], r.text
    assert not eng.settings.api.uploads_dir.exists() or not list(eng.settings.api.uploads_dir.iterdir())


def test_upload_over_the_size_cap_gets_413(engine: Engine, tmp_path: Path) -> None:
    eng = engine_copy(engine, tmp_path, api_keys=[SecretStr("writer")], max_upload_bytes=100_000)
    with LiveServer(eng, eng.settings) as server:
        r = httpx.post(f"{server.url}/reports", files={"file": ("big.pdf", LUTON.read_bytes())}, headers=KEY)
        assert r.status_code == 413 and "OFSTED_QA_API__MAX_UPLOAD_BYTES" in r.json()["detail"]


def test_server_loads_a_generation_built_by_another_process(writable) -> None:  # type: ignore[no-untyped-def]
    url, eng = writable
    before = httpx.get(f"{url}/ready").json()["generation"]
    # what `ofsted-qa index` does, writing to the directory the server serves
    build_index([LUTON], eng.settings.index.dir, eng.embedder, eng.reranker.name, eng.reranker.sha256)
    deadline = time.monotonic() + 30
    while httpx.get(f"{url}/ready").json()["generation"] == before:
        assert time.monotonic() < deadline, "the server never loaded the new generation"
        time.sleep(0.1)
    assert len(httpx.get(f"{url}/reports").json()) == 3


def test_a_reload_that_fails_keeps_the_old_generation_and_ready_says_so(writable) -> None:  # type: ignore[no-untyped-def]
    url, eng = writable
    index_dir = eng.settings.index.dir
    served = httpx.get(f"{url}/ready").json()["generation"]
    broken = index_dir / "gen-20990101T000000-broken"
    shutil.copytree(index_dir / served, broken)
    (broken / "chunks.jsonl").write_text((broken / "chunks.jsonl").read_text()[:1000])  # truncated
    (index_dir / "CURRENT").write_text(broken.name)
    deadline = time.monotonic() + 30
    while (r := httpx.get(f"{url}/ready")).status_code == 200:
        assert time.monotonic() < deadline, "the failed reload was never reported"
        time.sleep(0.1)
    assert r.status_code == 503 and r.json()["generation"] == served
    assert f"Generation {broken.name} could not be loaded; still serving {served}" in r.json()["detail"]
    assert "Rebuild it with: ofsted-qa index reports/" in r.json()["detail"]
    assert httpx.get(f"{url}/reports/peterborough-ilacs-2023/paragraphs/11").status_code == 200
    assert 'ofsted_qa_index_reloads_total{outcome="failed"} 1.0' in httpx.get(f"{url}/metrics").text


def test_upload_with_a_known_id_replaces_that_report(writable) -> None:  # type: ignore[no-untyped-def]
    url, _ = writable
    for source in (LUTON, DATA / "brent-inspection-2026-06-17.pdf"):
        files = {"file": ("report.pdf", source.read_bytes(), "application/pdf")}
        r = httpx.post(f"{url}/reports", files=files, data={"document_id": "latest-upload"}, headers=KEY)
        assert wait_for_job(url, r.json()["id"])["state"] == "done"
    report = httpx.get(f"{url}/reports/latest-upload").json()
    assert report["local_authority"] == "Brent" and len(httpx.get(f"{url}/reports").json()) == 3


def test_openapi_schema_carries_this_servers_limits(live_server: str) -> None:
    ask = httpx.get(f"{live_server}/openapi.json").json()["components"]["schemas"]["AskRequest"]["properties"]
    assert ask["question"]["maxLength"] == 2000 and ask["history"]["maxItems"] == 10
