"""Load benchmark: concurrent clients against a real server on loopback, steady and during a reindex → JSON, MD.

The server is `ofsted-qa serve --workers N` in its own process group, over an index built for the run in a
temporary folder (never the operator's); the clients are one asyncio httpx client, each simulated client asking
the dev questions in turn, one request at a time. During a reindex phase `ofsted-qa index --fresh` runs on the
served directory again and again until the phase ends (the last run is let finish, never killed).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from eval.dataset import DEFAULT_SET, load_questions
from eval.metrics import percentile
from eval.report import git_commit
from indexer.errors import OfstedQAError

CLIENTS = (1, 10, 50)
WORKERS = (1, 2, 4)
PHASES = ("steady", "reindex")


class LoadError(OfstedQAError):
    """The server under test could not be started, or the index for the run could not be built."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command(*args: str) -> list[str]:
    """Return an `ofsted-qa` command line run by this interpreter (so the same venv, wherever it is)."""
    return [sys.executable, "-m", "api.cli", *args]


def build_index(corpus: Sequence[Path], index_dir: Path, log: Path) -> None:
    """Index the corpus into index_dir with the `ofsted-qa index` command, or raise LoadError."""
    with log.open("a") as fh:
        rc = subprocess.run(
            _command("index", *map(str, corpus), "--index", str(index_dir), "--fresh"), stdout=fh, stderr=fh
        ).returncode
    if rc != 0:
        raise LoadError(f"Indexing {', '.join(map(str, corpus))} for the load run failed (exit {rc}); see {log}.")


def _proc_mb(path: Path, field: str) -> float:
    """Return a /proc memory field ('VmRSS:', 'Pss:') in MB (0 when the process has gone or it is unreadable)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def rss_mb(pid: int) -> float:
    """Return a process's resident set size in MB (0 when it has gone)."""
    return _proc_mb(Path(f"/proc/{pid}/status"), "VmRSS:")


def pss_mb(pid: int) -> float:
    """Return a process's proportional set size in MB: shared pages (libraries, model files) split between the
    processes sharing them, so workers' PSS add up to what they really take (0 when unreadable)."""
    return _proc_mb(Path(f"/proc/{pid}/smaps_rollup"), "Pss:")


def worker_pids(server_pid: int, workers: int) -> list[int]:
    """Return the processes that answer requests: the server itself, or the workers uvicorn spawned under it."""
    if workers == 1:
        return [server_pid]
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    found = []
    for child in map(int, children):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:  # not multiprocessing's resource tracker
            found.append(child)
    return sorted(found)


class Server:
    """`ofsted-qa serve --workers N` on a free loopback port, in its own process group; stopped on exit."""

    def __init__(self, index_dir: Path, workers: int, log: Path, start_timeout_s: float = 300) -> None:
        self.index_dir, self.workers, self.log, self.start_timeout_s = index_dir, workers, log, start_timeout_s
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        args = _command("serve", "--index", str(self.index_dir), "--port", str(self.port))
        with self.log.open("a") as fh:
            # capacity is measured with rate limits off (every client is one loopback address), unless the
            # operator set them: then their 429s are counted apart
            env = {**os.environ}
            env.setdefault("OFSTED_QA_API__RATE_LIMIT_PER_MINUTE", "0")
            self.proc = subprocess.Popen(
                [*args, "--workers", str(self.workers)], stdout=fh, stderr=fh, start_new_session=True, env=env
            )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LoadError(f"The server exited (code {self.proc.returncode}) before it served; see {self.log}.")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).json().get("status") == "ok":
                    if len(worker_pids(self.proc.pid, self.workers)) == self.workers:
                        return self
            except (httpx.HTTPError, ValueError, OSError):
                pass
            time.sleep(0.5)
        self.__exit__()
        raise LoadError(f"The server did not serve its index within {self.start_timeout_s:.0f} s; see {self.log}.")

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # uvicorn stops its workers; the group catches any straggler
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    @property
    def pids(self) -> list[int]:
        assert self.proc is not None
        return worker_pids(self.proc.pid, self.workers)


async def _reindex_until(deadline: float, corpus: Sequence[Path], index_dir: Path, log: Path) -> dict[str, int]:
    """Re-run `ofsted-qa index --fresh` on the served directory until the deadline; return runs and failures."""
    runs = failures = 0
    loop = asyncio.get_running_loop()
    with log.open("a") as fh:
        while loop.time() < deadline:
            proc = await asyncio.create_subprocess_exec(
                *_command("index", *map(str, corpus), "--index", str(index_dir), "--fresh"), stdout=fh, stderr=fh
            )
            runs += 1
            failures += (await proc.wait()) != 0
    return {"reindex_runs": runs, "reindex_failures": failures}


async def _sample_memory(pids: list[int], peak: dict[int, float], stop: asyncio.Event) -> None:
    """Record each worker's highest RSS, once a second, until stopped."""
    while not stop.is_set():
        for pid in pids:
            peak[pid] = max(peak.get(pid, 0.0), rss_mb(pid))
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass


async def run_phase(
    url: str,
    questions: Sequence[str],
    clients: int,
    seconds: float,
    reindex: tuple[Sequence[Path], Path, Path] | None = None,
    pids: Sequence[int] = (),
) -> dict[str, Any]:
    """Run `clients` clients asking /ask for `seconds` (optionally while reindexing); return the phase's figures.

    A client sends its next question when the last is answered; requests still in flight at the end are waited
    for and counted, so requests/s is answered requests over the time until the last one came back.
    """
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    counts = {"ok": 0, "rate_limited": 0, "errors": 0}
    samples: list[str] = []
    peak: dict[int, float] = {}
    stop = asyncio.Event()

    def fail(what: str) -> None:
        counts["errors"] += 1
        if what not in samples and len(samples) < 5:
            samples.append(what)

    async def client_loop(client: httpx.AsyncClient, first: int, deadline: float) -> None:
        turn = first
        while loop.time() < deadline:
            question = questions[turn % len(questions)]
            turn += clients
            t0 = time.perf_counter()
            try:
                response = await client.post("/ask", json={"question": question})
            except httpx.HTTPError as exc:
                fail(f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code == 200:
                counts["ok"] += 1
                latencies.append((time.perf_counter() - t0) * 1000)
            elif response.status_code == 429:
                counts["rate_limited"] += 1
            else:
                fail(f"{response.status_code}: {response.text[:200]}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        sampler = asyncio.create_task(_sample_memory(list(pids), peak, stop))
        t0 = loop.time()
        deadline = t0 + seconds
        tasks = [client_loop(client, i, deadline) for i in range(clients)]
        reindexing = None
        if reindex is not None:
            corpus, index_dir, log = reindex
            reindexing = asyncio.create_task(_reindex_until(deadline, corpus, index_dir, log))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - t0
        load_average = os.getloadavg()[0]  # the last minute's: on a shared machine, other work shows here
        # the last reindex is let finish (outside the phase's time), so the next phase starts on a quiet server
        reindexed = await reindexing if reindexing is not None else {"reindex_runs": 0, "reindex_failures": 0}
        stop.set()
        await sampler
    answered = counts["ok"] + counts["rate_limited"] + counts["errors"]
    return {
        "phase": "reindex" if reindex is not None else "steady",
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": answered,
        "ok": counts["ok"],
        "errors": counts["errors"],
        "rate_limited_429": counts["rate_limited"],
        "requests_per_s": round(answered / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
        "error_samples": samples,
        "load_average_1min": round(load_average, 1),
        "peak_rss_mb_per_worker": [peak.get(pid, 0.0) for pid in pids],
    } | (reindexed if reindex is not None else {})


def _warm_up(url: str, workers: int) -> None:
    """Ask enough questions at once that every worker has answered one (first answers load lazy parts)."""

    async def go() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            question = {"question": "How were the experiences and progress of care leavers judged?"}
            await asyncio.gather(*(client.post("/ask", json=question) for _ in range(4 * workers)))

    asyncio.run(go())


def run_load(
    out: Path,
    seconds: float = 60,
    clients: Sequence[int] = CLIENTS,
    workers: Sequence[int] = WORKERS,
    corpus: Sequence[Path] | None = None,
    questions_path: Path = DEFAULT_SET,
) -> dict[str, Any]:
    """Run every phase (steady, then during a reindex) per client count, per worker count; write load.json and
    load.md to `out`; return the result."""
    from indexer.settings import get_settings

    corpus = list(corpus or [get_settings().index.corpus_dir])
    questions = [q.question for q in load_questions(questions_path)]
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="ofsted-qa-load-") as tmp:
        index_dir, log = Path(tmp) / "index", out / "load-server.log"
        log.write_text("")
        build_index(corpus, index_dir, log)
        for n in workers:
            with Server(index_dir, n, log) as server:
                health = httpx.get(f"{server.url}/health", timeout=10).json()
                _warm_up(server.url, n)
                pids = server.pids
                idle_rss = [rss_mb(pid) for pid in pids]
                idle_pss = [pss_mb(pid) for pid in pids]
                phases = []
                for phase in PHASES:
                    for c in clients:
                        reindex = (corpus, index_dir, log) if phase == "reindex" else None
                        phases.append(asyncio.run(run_phase(server.url, questions, c, seconds, reindex, pids)))
            runs.append(
                {
                    "workers": n,
                    "reports": health.get("reports"),
                    "paragraphs": health.get("paragraphs"),
                    "idle_rss_mb_per_worker": idle_rss,
                    "idle_pss_mb_per_worker": idle_pss,
                    "peak_rss_mb_per_worker": [
                        max(p["peak_rss_mb_per_worker"][i] for p in phases) for i in range(len(pids))
                    ],
                    "phases": phases,
                }
            )
    result = {
        "commit": git_commit(),
        "cpu_cores": os.cpu_count(),
        "seconds_per_phase": seconds,
        "corpus": [str(p) for p in corpus],
        "questions": len(questions),
        "command": "ofsted-qa bench-load "
        + f"--seconds {seconds:g} "
        + " ".join(f"--clients {c}" for c in clients)
        + " "
        + " ".join(f"--workers {n}" for n in workers),
        "runs": runs,
    }
    (out / "load.json").write_text(json.dumps(result, indent=2))
    (out / "load.md").write_text(to_markdown(result))
    return result


def total_errors(result: dict[str, Any]) -> int:
    """Return the failed requests over every phase of every run (429s are not failures)."""
    return sum(p["errors"] for run in result["runs"] for p in run["phases"])


def to_markdown(result: dict[str, Any]) -> str:
    """Return the result as two Markdown tables: throughput and latency per phase, memory per worker count."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    lines = [
        f"Load on loopback: {result['seconds_per_phase']:g} s per phase, {result['cpu_cores']} CPU cores, "
        f"{result['questions']} dev questions in turn to POST /ask (commit {result['commit'][:10]}). The load "
        "average is the machine's over the phase's last minute: above the core count, other work shared the cores.",
        "",
        "| workers | phase | clients | requests/s | p50 ms | p95 ms | p99 ms | requests | errors | 429s | reindexes "
        "| load average |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for p in run["phases"]:
            reindexes = f"{p['reindex_runs']} ({p['reindex_failures']} failed)" if p["phase"] == "reindex" else "-"
            lines.append(
                f"| {run['workers']} | {p['phase']} | {p['clients']} | {p['requests_per_s']:.1f} | {ms(p['p50_ms'])} "
                f"| {ms(p['p95_ms'])} | {ms(p['p99_ms'])} | {p['requests']} | {p['errors']} "
                f"| {p['rate_limited_429']} | {reindexes} | {p['load_average_1min']:.1f} |"
            )
    lines += [
        "",
        "| workers | RSS per worker, idle (MB) | PSS per worker, idle (MB) | peak RSS per worker (MB) "
        "| best requests/s |",
        "|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        best = max(p["requests_per_s"] for p in run["phases"] if p["phase"] == "steady")
        lines.append(
            f"| {run['workers']} | {', '.join(f'{x:.0f}' for x in run['idle_rss_mb_per_worker'])} "
            f"| {', '.join(f'{x:.0f}' for x in run['idle_pss_mb_per_worker'])} "
            f"| {', '.join(f'{x:.0f}' for x in run['peak_rss_mb_per_worker'])} | {best:.1f} |"
        )
    lines += ["", f"Errors over all phases: {total_errors(result)} (429s counted apart).", ""]
    return "\n".join(lines)
