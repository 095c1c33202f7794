"""Faults, with real processes: kill -9 mid-index, damaged or foreign indexes, reindexing under load, bad files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from api.engine import Engine
from indexer.store import Index, build_index
from tests.conftest import DATA, HISTORY, free_port
from tests.pdfs import encrypted_pdf

EXE = str(Path(sys.executable).with_name("ofsted-qa"))
QUESTION = "What did inspectors say about children missing from education?"


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "OFSTED_QA_INDEX__MODEL_CACHE_DIR": str(tmp / "models"),
        "OFSTED_QA_API__FEEDBACK_PATH": str(tmp / "feedback.jsonl"),
        "OFSTED_QA_API__RATE_LIMIT_PER_MINUTE": "0",
        "OFSTED_QA_API__RELOAD_POLL_S": "0.25",
        **extra,
    }


@pytest.fixture()
def seed_dir(engine: Engine, tmp_path: Path) -> Path:
    """A copy of the session index directory (two reports, 85 paragraphs)."""
    target = tmp_path / "index"
    shutil.copytree(engine.settings.index.dir, target)
    return target


class Server:
    """`ofsted-qa serve` in its own process, on a free loopback port."""

    def __init__(self, index_dir: Path, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp / f"server-{self.port}.log").open("w+")
        self.proc = subprocess.Popen(
            [EXE, "serve", "--index", str(index_dir), "--port", str(self.port)],
            env=env_for(tmp),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout_s: float = 120) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, Path(self.log.name).read_text()
            try:
                r = httpx.get(f"{self.url}/ready", timeout=2)
                if r.status_code == 200:
                    return str(r.json()["generation"])
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("server not ready: " + Path(self.log.name).read_text()[-2000:])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def test_kill_9_mid_index_keeps_the_old_generation_and_the_next_run_completes(seed_dir: Path, tmp_path: Path) -> None:
    before = Index.load(seed_dir)
    # about 700 paragraphs to embed: the first progress report comes after 256 of them, seconds before the end
    batch = HISTORY
    args = [EXE, "index", *(str(DATA / n) for n in batch), "--index", str(seed_dir)]
    proc = subprocess.Popen(args, env=env_for(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = b""
    assert proc.stderr is not None
    while b"embed" not in seen:  # tqdm's bar for the embedding stage: parsing is done, vectors are being made
        chunk = os.read(proc.stderr.fileno(), 4096)
        assert chunk, "the index run ended before embedding"
        seen += chunk
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    after = Index.load(seed_dir)
    assert after.path == before.path and set(after.paragraphs) == set(before.paragraphs) and len(after.paragraphs) == 85

    # again, killed while the new generation is being written beside the live one
    small = [EXE, "index", *(str(DATA / n) for n in HISTORY[:3]), "--index", str(seed_dir)]
    for _attempt in range(6):  # the write takes tens of milliseconds: a run may finish it before the kill lands
        live = Index.load(seed_dir)
        proc = subprocess.Popen(small, env=env_for(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and not any(p.name.startswith(".gen-") for p in seed_dir.iterdir()):
            time.sleep(0.0005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        caught = any(p.name.startswith(".gen-") for p in seed_dir.iterdir())
        if proc.returncode == -signal.SIGKILL and caught:
            break
    assert proc.returncode == -signal.SIGKILL and caught, "six builds finished writing before one could be killed"
    assert [p.name for p in seed_dir.iterdir() if p.name.startswith(".gen-")]  # the half-written generation
    assert Index.load(seed_dir).path == live.path
    assert set(Index.load(seed_dir).paragraphs) == set(live.paragraphs)

    done = subprocess.run(args, env=env_for(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    final = Index.load(seed_dir)
    assert final.path != before.path
    assert {Path(n).stem for n in batch} <= set(final.reports) | set(final.aliases)
    assert all(final.report(doc) for doc in before.reports)  # an earlier report may now be an alias of its PDF
    assert [p.name for p in seed_dir.iterdir() if p.name.startswith(".gen-")] == []


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        ("truncate_chunks", "is damaged or truncated"),
        ("corrupt_vectors", "is damaged or truncated"),
        ("other_model", "was embedded with another model"),
        ("dangling_pointer", "points at a missing generation"),
    ],
)
def test_damaged_or_foreign_index_stops_the_server_with_one_sentence(
    seed_dir: Path, tmp_path: Path, damage: str, said: str
) -> None:
    gen = seed_dir / (seed_dir / "CURRENT").read_text().strip()
    if damage == "truncate_chunks":
        (gen / "chunks.jsonl").write_bytes((gen / "chunks.jsonl").read_bytes()[:5000])
    elif damage == "corrupt_vectors":
        (gen / "vectors.npy").write_bytes(b"\x93NUMPY garbage")
    elif damage == "other_model":
        manifest = json.loads((gen / "manifest.json").read_text())
        manifest |= {"embedding_sha256": "0" * 64, "embedding_model": "another model"}
        (gen / "manifest.json").write_text(json.dumps(manifest))
    else:
        (seed_dir / "CURRENT").write_text("gen-gone")
    port = free_port()
    run = subprocess.run(
        [EXE, "serve", "--index", str(seed_dir), "--port", str(port)],
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in run.stderr
    assert ("another model" in errors[0]) if damage == "other_model" else (said in errors[0])
    assert f"ofsted-qa index reports/ --index {seed_dir} --fresh" in errors[0]


def test_two_servers_answer_through_a_reindex_with_no_failed_requests(seed_dir: Path, tmp_path: Path) -> None:
    servers = [Server(seed_dir, tmp_path), Server(seed_dir, tmp_path)]
    try:
        first = {s.wait_ready() for s in servers}
        assert len(first) == 1
        counts = {"ok": 0, "failed": 0}
        failures: list[str] = []
        stop = threading.Event()

        def fire(server: Server, n: int) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                while not stop.is_set():
                    try:
                        if n % 2:
                            r = client.post("/ask", json={"question": QUESTION})
                            good = r.status_code == 200 and r.json()["answerable"]
                        else:
                            r = client.get("/reports/peterborough-ilacs-2023/paragraphs/11")
                            good = r.status_code == 200
                    except httpx.HTTPError as exc:
                        good, r = False, None  # type: ignore[assignment]
                        failures.append(repr(exc))
                    counts["ok" if good else "failed"] += 1
                    if not good and r is not None:
                        failures.append(f"{r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=fire, args=(s, n)) for s in servers for n in range(2)]
        for t in threads:
            t.start()
        time.sleep(1)
        reindex = subprocess.run(
            [EXE, "index", str(DATA / "luton-focused-visit-2024-09-09.pdf"), "--index", str(seed_dir)],
            env=env_for(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert reindex.returncode == 0, reindex.stderr
        new = (seed_dir / "CURRENT").read_text().strip()
        deadline = time.monotonic() + 60
        while any(httpx.get(f"{s.url}/ready").json()["generation"] != new for s in servers):
            assert time.monotonic() < deadline, "a server never loaded the new generation"
            time.sleep(0.2)
        time.sleep(1)  # and keep asking the new generation a moment
        stop.set()
        for t in threads:
            t.join()
        print(f"reindex under load: {counts['ok']} requests answered, {counts['failed']} failed")  # noqa: T201
        assert counts["failed"] == 0, failures[:5]
        assert counts["ok"] >= 20
        for s in servers:
            assert len(httpx.get(f"{s.url}/reports").json()) == 3
    finally:
        for s in servers:
            s.stop()
    logs = [json.loads(line) for line in Path(servers[0].log.name).read_text().splitlines() if line.startswith("{")]
    asked = [line for line in logs if line["message"] in ("answered", "refused")]
    assert asked and all(len(line["request_id"]) == 32 and "question" not in line for line in asked)
    assert all("timings_ms" in line for line in asked)
    assert not any(QUESTION in json.dumps(line) for line in logs)


def test_bad_files_in_a_batch_are_named_with_reasons_and_the_rest_indexed(
    seed_dir: Path, tmp_path: Path, engine: Engine
) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(DATA / "luton-focused-visit-2024-09-09.pdf", batch / "luton-focused-visit-2024-09-09.pdf")
    (batch / "empty.pdf").write_bytes(b"")
    (batch / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (batch / "locked.pdf").write_bytes(encrypted_pdf())
    (batch / "malformed.pdf").write_bytes((DATA / "brent-inspection-2026-06-17.pdf").read_bytes()[:3000])
    result = build_index([batch], seed_dir, engine.embedder, engine.reranker.name, engine.reranker.sha256)
    reasons = {Path(f.split(":")[0]).name: f for f in result.failures}
    assert set(reasons) == {"empty.pdf", "binary.txt", "locked.pdf", "malformed.pdf"}
    assert "the file is empty" in reasons["empty.pdf"]
    assert "binary data, neither a PDF nor text" in reasons["binary.txt"]
    assert "the PDF is encrypted (password-protected)" in reasons["locked.pdf"]
    assert "not a readable PDF, damaged or truncated" in reasons["malformed.pdf"]
    index = Index.load(seed_dir)
    assert sorted(index.reports) == [
        "luton-focused-visit-2024-09-09",
        "peterborough-ilacs-2023",
        "peterborough-monitoring-visit-2025",
    ]
