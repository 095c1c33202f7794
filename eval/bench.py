"""Benchmarks: /ask latency over HTTP per rerank depth (with hit rate), and indexing speed on real PDFs.

Medians and ratios come from one process, one after another, because these machines are noisy.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from eval.dataset import DEFAULT_SET, load_questions
from eval.metrics import hit, percentile
from eval.report import git_commit
from indexer.settings import get_settings

DEPTHS = (0, 4, 8, 16)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """uvicorn on loopback in a thread, over an engine already loaded."""

    def __init__(self, engine: Any) -> None:
        import uvicorn

        from api.main import create_app

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(engine.settings, engine=engine, build_default=False)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def bench_latency(engine: Any, repeats: int = 1, path: Path = DEFAULT_SET) -> list[dict[str, Any]]:
    """Return, per rerank depth, /ask latency p50/p95 over HTTP and the cited-paragraph hit rate."""
    questions = load_questions(path)
    aliases = engine.index.aliases
    rows = []
    with _Server(engine) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        client.post("/ask", json={"question": "warm up the models"})
        for depth in DEPTHS:
            latencies: list[float] = []
            hits: list[float] = []
            for _ in range(repeats):
                for q in questions:
                    t0 = time.perf_counter()
                    body = client.post("/ask", json={"question": q.question, "rerank_candidates": depth}).json()
                    latencies.append((time.perf_counter() - t0) * 1000)
                    if q.answerable:
                        gold = {(aliases.get(g.document_id, g.document_id), g.paragraph) for g in q.gold}
                        if "citations" not in body:  # an error response counts as a miss
                            hits.append(0.0)
                            continue
                        cited = {(c["document_id"], c["paragraph"]) for c in body["citations"]}
                        hits.append(hit(cited, gold))
            rows.append(
                {
                    "rerank_candidates": depth,
                    "questions": len(questions) * repeats,
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p95_ms": round(percentile(latencies, 95), 1),
                    "hit_rate": round(sum(hits) / len(hits), 4),
                }
            )
    base = rows[0]["p50_ms"]
    for row in rows:
        row["p50_ratio_vs_no_rerank"] = round(row["p50_ms"] / base, 2)
    return rows


def bench_streaming(engine: Any, path: Path = DEFAULT_SET, limit: int = 60) -> dict[str, Any]:
    """Return time to the first streamed sentence and to `done` over /ask/stream, beside /ask, same questions."""
    questions = [q for q in load_questions(path) if q.answerable][:limit]
    first: list[float] = []
    done: list[float] = []
    plain: list[float] = []
    with _Server(engine) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        client.post("/ask", json={"question": "warm up the models"})
        for q in questions:
            t0 = time.perf_counter()
            client.post("/ask", json={"question": q.question})
            plain.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            seen_first = None
            with client.stream("POST", "/ask/stream", json={"question": q.question}) as response:
                for line in response.iter_lines():
                    if line.startswith("event: ") and seen_first is None and line != "event: done":
                        seen_first = (time.perf_counter() - t0) * 1000
            end = (time.perf_counter() - t0) * 1000
            first.append(seen_first if seen_first is not None else end)
            done.append(end)
    return {
        "questions": len(questions),
        "first_sentence_p50_ms": round(statistics.median(first), 1),
        "first_sentence_p95_ms": round(percentile(first, 95), 1),
        "done_p50_ms": round(statistics.median(done), 1),
        "ask_p50_ms": round(statistics.median(plain), 1),
        "first_sentence_vs_ask_p50": round(statistics.median(first) / statistics.median(plain), 2),
    }


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def bench_browser(engine: Any, path: Path = DEFAULT_SET, limit: int = 30) -> dict[str, Any]:
    """Return time from pressing Send to the first sentence on screen, and to the finished answer, in Chromium."""
    if not CHROMIUM.exists():
        return {"skipped": f"{CHROMIUM} is missing: `make install` installs it"}
    from playwright.sync_api import sync_playwright

    questions = [q.question for q in load_questions(path) if q.answerable][:limit]
    first: list[float] = []
    done: list[float] = []
    with _Server(engine) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.goto(server.url + "/")
        for n, question in enumerate(["warm up the models", *questions]):
            page.click("#new-conversation")
            page.fill("#question", question)
            t0 = time.perf_counter()
            page.click("#ask")
            answer = page.locator(".answer").last
            answer.locator(".sentence-wrap, .closest, .error").first.wait_for(timeout=60_000)
            t1 = time.perf_counter()
            page.locator(".answer[data-done='true']").last.wait_for(timeout=60_000)
            t2 = time.perf_counter()
            if n:
                first.append((t1 - t0) * 1000)
                done.append((t2 - t0) * 1000)
        browser.close()
    return {
        "questions": len(questions),
        "first_sentence_p50_ms": round(statistics.median(first), 1),
        "full_answer_p50_ms": round(statistics.median(done), 1),
        "first_sentence_p95_ms": round(percentile(first, 95), 1),
        "full_answer_p95_ms": round(percentile(done, 95), 1),
    }


def bench_findings(engine: Any, authority: str = "Peterborough") -> list[dict[str, Any]]:
    """Return /findings latency over HTTP for the gold topics: one authority, all authorities, with neighbours."""
    from eval.findings import DEFAULT_TOPICS, load_topics

    topics = [t.topic for t in load_topics(DEFAULT_TOPICS)]
    modes: list[tuple[str, dict[str, Any]]] = [
        ("one authority (cross-encoder checked)", {"local_authority": authority}),
        ("all authorities", {}),
        ("with statistical neighbours", {"local_authority": authority, "compare_with": "statistical_neighbours"}),
    ]
    rows = []
    with _Server(engine) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        client.post("/findings", json={"topic": "warm up", "local_authority": authority})
        for name, extra in modes:
            latencies, paragraphs = [], []
            for topic in topics:
                t0 = time.perf_counter()
                body = client.post("/findings", json={"topic": topic, **extra}).json()
                latencies.append((time.perf_counter() - t0) * 1000)
                paragraphs.append(sum(len(r["paragraphs"]) for g in body.get("groups", []) for r in g["reports"]))
            rows.append(
                {
                    "mode": name,
                    "topics": len(topics),
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p95_ms": round(percentile(latencies, 95), 1),
                    "median_paragraphs": statistics.median(paragraphs),
                }
            )
    return rows


def bench_baselines(engine: Any) -> list[dict[str, Any]]:
    """Return in-process latency of the LangChain baselines on the same questions (they have no server)."""
    from eval.report import make_systems

    questions = load_questions(DEFAULT_SET)
    rows = []
    for name, system in make_systems(["langchain-vanilla", "langchain-hybrid-rerank"], engine).items():
        system(questions[0])  # warm up
        latencies = []
        for q in questions:
            t0 = time.perf_counter()
            system(q)
            latencies.append((time.perf_counter() - t0) * 1000)
        rows.append(
            {
                "system": name,
                "questions": len(questions),
                "p50_ms": round(statistics.median(latencies), 1),
                "p95_ms": round(percentile(latencies, 95), 1),
            }
        )
    return rows


def bench_indexing(engine: Any, corpus: Path, min_paragraphs: int = 2000) -> dict[str, Any]:
    """Return parse and embed speeds (paragraphs/s) on real PDFs, model load excluded."""
    from indexer.chunk import make_chunks
    from indexer.parse import parse_report
    from indexer.store import parse_files

    pdfs = sorted(corpus.rglob("*.pdf"))
    if not pdfs:
        return {"skipped": f"no PDFs under {corpus}: the indexing benchmark needs ../shared/corpus"}
    # every 7th file: a spread of years, kinds and authorities rather than the alphabet's first
    sample = pdfs[::7] + [p for i, p in enumerate(pdfs) if i % 7]
    reports, paragraphs, used, t0 = [], 0, 0, time.perf_counter()
    for path in sample:
        used += 1
        try:
            report = parse_report(path)
        except Exception:  # noqa: BLE001 - counted, not fatal, in a benchmark
            continue
        reports.append(report)
        paragraphs += len(report.paragraphs)
        if paragraphs >= min_paragraphs:
            break
    parse_s = time.perf_counter() - t0
    # the same files as `ofsted-qa index` parses them: one process per core
    t0 = time.perf_counter()
    in_parallel = [r for _, r in parse_files(sample[:used], os.cpu_count() or 1) if not isinstance(r, str)]
    parallel_s = time.perf_counter() - t0
    assert len(in_parallel) == len(reports)
    chunks = [c for r in reports for c in make_chunks(r, engine.settings.index.max_chunk_words)]
    texts = [c.text for c in chunks]
    from indexer.embed import Embedder

    # baseline, in this process: one session using every core, one passage at a time (the stop-10 default)
    one_session = Embedder(engine.embedder.batch_size, workers=1, threads=0, folder=engine.embedder.folder)
    one_session.embed_documents(["warm up"])
    t0 = time.perf_counter()
    baseline = one_session.embed_documents(texts)
    one_process_s = time.perf_counter() - t0
    # as `ofsted-qa index` embeds: one Python thread per core sharing a one-thread session
    engine.embedder.embed_documents(["warm up"])
    t0 = time.perf_counter()
    vectors = engine.embedder.embed_documents(texts)
    embed_s = time.perf_counter() - t0
    assert np.allclose(baseline, vectors, atol=1e-5), "the threaded embedder changed the vectors"
    return {
        "files": len(reports),
        "paragraphs": paragraphs,
        "chunks": len(chunks),
        "parse_s": round(parse_s, 2),
        "embed_s": round(embed_s, 2),
        "parse_paragraphs_per_s": round(paragraphs / parse_s, 1),
        "parse_all_cores_s": round(parallel_s, 2),
        "parse_all_cores_paragraphs_per_s": round(paragraphs / parallel_s, 1),
        "embed_paragraphs_per_s": round(paragraphs / embed_s, 1),
        "embed_one_session_s": round(one_process_s, 2),
        "embed_one_session_paragraphs_per_s": round(paragraphs / one_process_s, 1),
        "embed_threads": engine.embedder.workers,
        "embed_threads_vs_one_session": round(one_process_s / embed_s, 2),
        "total_paragraphs_per_s": round(paragraphs / (parallel_s + embed_s), 1),
        "cpu_cores": os.cpu_count(),
    }


def bench_cold_start(index: Path, runs: int = 3) -> dict[str, Any]:
    """Return the seconds from spawning `ofsted-qa serve` on an index to its first /ask answer (median of runs).

    This is what a user waits for: interpreter start, imports, index and model load, first answer over HTTP.
    """
    import subprocess
    import sys

    seconds = []
    for _ in range(runs):
        port = _free_port()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--index", str(index), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while proc.poll() is None and time.perf_counter() - t0 < 120:
                try:
                    r = httpx.post(f"http://127.0.0.1:{port}/ask", json={"question": "How were care leavers judged?"})
                    if r.status_code == 200:
                        seconds.append(time.perf_counter() - t0)
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if not seconds:
        return {"cold_start_error": "the server never answered; run ofsted-qa serve --index DIR to see why"}
    return {
        "cold_start_process_to_first_answer_s": round(statistics.median(seconds), 2),
        "cold_start_runs": len(seconds),
    }


def run_bench(
    out: Path, corpus: Path, repeats: int = 1, index: Path | None = None, questions: Path = DEFAULT_SET
) -> str:
    """Run the benchmarks; write bench.json/bench.md; return the table.

    Without `index`, on a temporary index of the bundled corpus, with the baselines and the indexing benchmark;
    with `index` (e.g. the national one), /ask latency and hit rate on that index only, plus its cold start.
    """
    from api.engine import Engine

    settings = get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        target = index or Path(tmp) / "index"
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": target})}, deep=True)
        engine = Engine(settings)
        t0 = time.perf_counter()
        if index is None:
            engine.build([settings.index.corpus_dir], keep_existing=False)
        else:
            engine.load(build_default=False)
        engine.warm_up()
        engine.ask("How were care leavers judged?")
        cold_start_s = round(time.perf_counter() - t0, 2)
        latency = bench_latency(engine, repeats, questions)
        streaming = bench_streaming(engine, questions)
        browser = bench_browser(engine, questions)
        findings = bench_findings(engine)
        baselines = bench_baselines(engine) if index is None else []
        indexing = (
            bench_indexing(engine, corpus)
            if index is None
            else {"cold_start_in_process_s": cold_start_s, **bench_cold_start(index)}
        )
    default = next((r for r in latency if r["rerank_candidates"] == settings.retrieval.rerank_candidates), latency[0])
    for row in baselines:
        row["ofsted_qa_p50_ratio"] = round(default["p50_ms"] / row["p50_ms"], 2)
    result = {
        "commit": git_commit(),
        "cpu_cores": os.cpu_count(),
        "latency": latency,
        "baselines": baselines,
        "streaming": streaming,
        "browser": browser,
        "findings": findings,
        "indexing": indexing,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, indent=2))
    lines = [
        "| rerank candidates | questions | p50 ms | p95 ms | p50 vs no rerank | hit rate |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['rerank_candidates']} | {r['questions']} | {r['p50_ms']} | {r['p95_ms']} | "
            f"{r['p50_ratio_vs_no_rerank']}x | {r['hit_rate']:.3f} |"
            for r in latency
        ),
        "",
        "| baseline (in process, retrieval only) | p50 ms | p95 ms | ofsted-qa p50 (HTTP) / baseline p50 |",
        "|---|---|---|---|",
        *(f"| {b['system']} | {b['p50_ms']} | {b['p95_ms']} | {b['ofsted_qa_p50_ratio']}x |" for b in baselines),
        "",
        "Streaming (/ask/stream): " + ", ".join(f"{k}={v}" for k, v in streaming.items()),
        "",
        "In Chromium (Send to first sentence on screen, to finished answer): "
        + ", ".join(f"{k}={v}" for k, v in browser.items()),
        "",
        "| /findings mode | topics | p50 ms | p95 ms | median paragraphs |",
        "|---|---|---|---|---|",
        *(
            f"| {f['mode']} | {f['topics']} | {f['p50_ms']} | {f['p95_ms']} | {f['median_paragraphs']} |"
            for f in findings
        ),
        "",
        "Indexing: " + ", ".join(f"{k}={v}" for k, v in indexing.items()),
    ]
    table = "\n".join(lines)
    (out / "bench.md").write_text(table + "\n")
    return table
