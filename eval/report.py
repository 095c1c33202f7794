"""Evaluate: load question sets, run the systems, write results.json and report.md."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from eval.dataset import DEFAULT_SET, Question, load_questions
from eval.run import Record, records_as_dicts, run_system, summarise, summarise_by
from indexer.settings import get_settings

METRICS = ["hit_rate", "citation_recall", "citation_precision", "key_terms", "refusal_accuracy", "false_refusals"]


def git_commit() -> str:
    """Return the current commit hash, or 'unknown'."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def select(questions: list[Question], split: str) -> list[Question]:
    """Return the questions of one split ('all' keeps every one)."""
    return questions if split == "all" else [q for q in questions if q.split == split]


def _cell(fig: dict[str, Any]) -> str:
    if fig["value"] is None:
        return "–"
    lo, hi = fig["ci95"]
    return f"{fig['value']:.3f} [{lo:.2f}, {hi:.2f}] (n={fig['n']})"


def markdown_table(summaries: dict[str, dict[str, Any]], first: str) -> str:
    """Return a Markdown table, one row per group, one column per metric plus latency."""
    head = f"| {first} | " + " | ".join(METRICS) + " | p50 ms | p95 ms |"
    rule = "|" + "---|" * (len(METRICS) + 3)
    rows = [
        f"| {name} | "
        + " | ".join(_cell(s[m]) for m in METRICS)
        + f" | {s['latency_p50_ms']} | {s['latency_p95_ms']} |"
        for name, s in summaries.items()
    ]
    return "\n".join([head, rule, *rows])


def evaluate(
    sets: list[Path],
    index: Path | None = None,
    url: str | None = None,
    split: str = "all",
    out: Path = Path("eval/out"),
    rerank_candidates: int | None = None,
) -> dict[str, Any]:
    """Run ofsted-qa on the question sets; write and return results (per question, per split, per type)."""
    from eval.systems import ofsted_qa, over_http

    questions = [q for s in (sets or [DEFAULT_SET]) for q in load_questions(s)]
    questions = select(questions, split)
    settings = get_settings()
    manifest: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    if url:
        import httpx

        system = over_http(url)
        reports = httpx.get(url.rstrip("/") + "/reports", timeout=30).json()
        aliases = {a: r["document_id"] for r in reports for a in r.get("aliases", [])}
    else:
        from api.engine import Engine

        if index is not None:
            settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": index})})
        engine = Engine(settings)
        idx = engine.load(build_default=index is None)
        engine.warm_up()
        aliases = idx.aliases
        manifest = idx.manifest.model_dump()
        system = ofsted_qa(engine, rerank_candidates)
    records: list[Record] = run_system("ofsted-qa", system, questions, aliases)
    summary = {
        "by_split": summarise_by(records, "split"),
        "by_type": summarise_by(records, "type"),
        "all": summarise(records),
    }
    result = {
        "commit": git_commit(),
        "sets": [str(s) for s in (sets or [DEFAULT_SET])],
        "split": split,
        "settings": json.loads(settings.model_dump_json()),
        "index_manifest": manifest,
        "url": url,
        "summary": summary,
        "records": records_as_dicts(records),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2, default=str))
    md = [
        "# ofsted-qa evaluation",
        "",
        f"Commit `{result['commit'][:12]}`, {len(records)} questions.",
        "",
        "## By split",
        "",
        markdown_table(summary["by_split"], "split"),
        "",
        "## By question type",
        "",
        markdown_table(summary["by_type"], "type"),
        "",
    ]
    (out / "report.md").write_text("\n".join(md))
    return result
