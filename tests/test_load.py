"""`ofsted-qa bench-load` run as a user would, for a few seconds: two workers on loopback, steady and reindexing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SEED_INSPECTION, SEED_LETTER

EXE = str(Path(sys.executable).parent / "ofsted-qa")


def test_bench_load_reports_every_phase_with_no_failed_request(tmp_path: Path) -> None:
    out = tmp_path / "load"
    env = {**os.environ, "OFSTED_QA_INDEX__MODEL_CACHE_DIR": str(tmp_path / "models")}
    args = ["bench-load", "--seconds", "2", "--clients", "1", "--clients", "3", "--workers", "2", "--out", str(out)]
    args += ["--corpus", str(SEED_INSPECTION), "--corpus", str(SEED_LETTER)]
    done = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=420)
    assert done.returncode == 0, done.stdout + done.stderr

    result = json.loads((out / "load.json").read_text())
    assert result["seconds_per_phase"] == 2
    assert result["command"] == "ofsted-qa bench-load --seconds 2 --clients 1 --clients 3 --workers 2"
    [run] = result["runs"]
    assert (run["workers"], run["reports"], run["paragraphs"]) == (2, 2, 85)
    assert len(run["idle_rss_mb_per_worker"]) == 2 and min(run["idle_rss_mb_per_worker"]) > 50
    assert [(p["phase"], p["clients"]) for p in run["phases"]] == [
        ("steady", 1),
        ("steady", 3),
        ("reindex", 1),
        ("reindex", 3),
    ]
    for phase in run["phases"]:
        assert phase["errors"] == 0, phase["error_samples"]
        assert phase["rate_limited_429"] == 0
        assert phase["ok"] == phase["requests"] > 0
        assert phase["requests_per_s"] > 0 and phase["load_average_1min"] >= 0
        assert phase["p50_ms"] <= phase["p95_ms"] <= phase["p99_ms"]
    for phase in run["phases"][2:]:
        assert phase["reindex_runs"] >= 1 and phase["reindex_failures"] == 0
    table = (out / "load.md").read_text()
    assert "| workers | phase | clients | requests/s | p50 ms | p95 ms | p99 ms |" in table
    assert "Errors over all phases: 0" in table
