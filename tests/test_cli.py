"""The `ofsted-qa` command run as a user would: index with a bad file in the batch, then ask."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import SEED_LETTER

EXE = str(Path(sys.executable).parent / "ofsted-qa")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=300)


def test_index_reports_bad_file_and_indexes_the_rest_then_ask(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copy(SEED_LETTER, reports)
    (reports / "scan.pdf").write_bytes(b"%PDF-1.4 not a pdf")
    env = {**os.environ, "OFSTED_QA_INDEX__MODEL_CACHE_DIR": str(tmp_path / "models")}
    index_dir = tmp_path / "index"
    done = run("index", str(reports), "--index", str(index_dir), env=env)
    assert done.returncode == 0, done.stderr
    assert "scan.pdf: not a readable PDF" in done.stderr
    assert "Indexed 1 reports, 21 paragraphs" in done.stdout
    assert "1 files failed" in done.stdout

    asked = run(
        "ask", "What did inspectors say about the emergency duty team?", "--index", str(index_dir), "--json", env=env
    )
    assert asked.returncode == 0, asked.stderr
    body = json.loads(asked.stdout)
    assert body["answerable"]
    assert {c["document_id"] for c in body["citations"]} == {"peterborough-monitoring-visit-2025"}
    for sentence in body["sentences"]:
        assert all(sentence["text"] in body["citations"][i]["text"] for i in sentence["citations"])


def test_ask_without_index_fails_with_one_line(tmp_path: Path) -> None:
    done = run("ask", "anything", "--index", str(tmp_path / "none"), env=dict(os.environ))
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: No index in")
    assert "Traceback" not in done.stderr
