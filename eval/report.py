"""Evaluate: load question sets, run the systems, write results.json and report.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from eval.dataset import DEFAULT_SET, DatasetError, Question, load_questions
from eval.generation import generation_markdown, generation_summary
from eval.run import Record, authority_checks, records_as_dicts, run_system, summarise, summarise_by
from indexer.settings import LlmSettings, Settings, get_settings

METRICS = [
    "hit_rate",
    "citation_recall",
    "citation_precision",
    "precision_with_history",
    "citation_support",
    "key_terms",
    "refusal_accuracy",
    "false_refusals",
]


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


SPLITS = ("dev", "test")


def select(questions: list[Question], split: str) -> list[Question]:
    """Return the questions of one split, dev or test; anything else is refused (the test split stays sealed)."""
    if split not in SPLITS:
        raise DatasetError(f"--split must be dev or test, not {split!r}. Tune on dev; run test once, explicitly.")
    return [q for q in questions if q.split == split]


def seal(result: dict[str, Any]) -> dict[str, Any]:
    """Return a test-split result with aggregates only: no per-question rows, no question ids anywhere."""
    summary = {
        name: {
            **{k: v for k, v in s.items() if k != "authority_checks"},
            "authority_checks": {k: v for k, v in s["authority_checks"].items() if not k.endswith("_questions")},
        }
        for name, s in result["summary"].items()
    }
    sealed = "test (sealed: aggregate figures only)"
    return {**result, "split": sealed, "summary": summary, "records": []}


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


SYSTEMS = [
    "ofsted-qa",
    "ofsted-qa-no-rerank",
    "langchain-vanilla",
    "langchain-hybrid-rerank",
    "bm25-only",
    "dense-only",
]


def make_systems(names: list[str], engine: Any) -> dict[str, Any]:
    """Return the named systems over the same parsed reports (ours with our models, LangChain's with the stock ones)."""
    from eval import baselines
    from eval.systems import ofsted_qa
    from indexer.embed import Embedder, Reranker

    factories = {
        "ofsted-qa": lambda: ofsted_qa(engine),
        "ofsted-qa-no-rerank": lambda: ofsted_qa(engine, rerank_candidates=0),
        "ofsted-qa-no-history": lambda: ofsted_qa(engine, use_history=False),
        "ofsted-qa-llm": lambda: ofsted_qa(engine, answerer="llm"),
        # the recipes as documented: the stock bi- and cross-encoder, not ours fine-tuned on the corpus
        "langchain-vanilla": lambda: baselines.langchain_vanilla(engine.index, Embedder()),
        "langchain-hybrid-rerank": lambda: baselines.langchain_hybrid_rerank(
            engine.index, Embedder(), Reranker(engine.settings.index.model_cache_dir)
        ),
        "bm25-only": lambda: baselines.single_branch(engine.index, engine.embedder, "bm25"),
        "dense-only": lambda: baselines.single_branch(engine.index, engine.embedder, "dense"),
    }
    unknown = [n for n in names if n not in factories]
    if unknown:
        raise DatasetError(f"Unknown system(s) {', '.join(unknown)}. Choose from: {', '.join(factories)}.")
    return {n: factories[n]() for n in names}


def evaluate(
    sets: list[Path],
    index: Path | None = None,
    url: str | None = None,
    split: str = "dev",
    out: Path = Path("eval/out"),
    systems: list[str] | None = None,
    plots: bool = True,
    llm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the systems on the question sets; write results.json, report.md and plots; return the results.

    `llm` sets the LLM answerer's endpoint (`base_url`, `model`, …, as in LlmSettings) for `ofsted-qa-llm`, which
    is then run beside `ofsted-qa`, the extractive answerer, on the same questions."""
    from tqdm import tqdm

    from eval.systems import over_http

    questions = [q for s in (sets or [DEFAULT_SET]) for q in load_questions(s)]
    questions = select(questions, split)
    settings = get_settings()
    manifest: dict[str, Any] = {}
    names = systems or (["ofsted-qa"] if url else SYSTEMS)
    if "ofsted-qa-llm" in names and not url:
        settings = with_llm(settings, llm or {})
        names = names if "ofsted-qa" in names else ["ofsted-qa", *names]
    if url:
        import httpx

        if names != ["ofsted-qa"]:
            raise DatasetError("With --url only the deployment itself is evaluated: drop --systems.")
        chosen: dict[str, Any] = {"ofsted-qa": over_http(url)}
        reports = httpx.get(url.rstrip("/") + "/reports", timeout=30).json()
        aliases = {a: r["document_id"] for r in reports for a in r.get("aliases", [])}
        meta = {
            r["document_id"]: (r["local_authority"], (r["inspection_dates"] or [r["published"] or ""])[-1])
            for r in reports
        }
    else:
        from api.engine import Engine

        if index is not None:
            settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": index})})
        engine = Engine(settings)
        idx = engine.load(build_default=index is None)
        engine.warm_up()
        aliases = idx.aliases
        meta = {
            d: (r.local_authority, str(r.inspection_dates[-1] if r.inspection_dates else r.published or ""))
            for d, r in idx.reports.items()
        }
        manifest = idx.manifest.model_dump()
        chosen = make_systems(names, engine)
    records: list[Record] = []
    with tqdm(total=len(questions) * len(chosen), desc="eval", unit="q", file=sys.stderr, leave=False) as bar:
        for name, system in chosen.items():
            records.extend(run_system(name, system, questions, aliases, progress=lambda: bar.update(1)))
    summary: dict[str, Any] = {}
    for name in chosen:
        mine = [r for r in records if r.system == name]
        summary[name] = {
            "all": summarise(mine),
            "by_split": summarise_by(mine, "split"),
            "by_type": summarise_by(mine, "type"),
            "by_register": summarise_by(mine, "register"),
            "authority_checks": authority_checks(
                mine, [q.model_copy(update={"gold": _canonical(q, aliases)}) for q in questions], meta
            ),
        }
        generated = generation_summary(mine)
        if generated is not None:
            summary[name]["generation"] = generated
    result = {
        "commit": git_commit(),
        "sets": [str(s) for s in (sets or [DEFAULT_SET])],
        "split": split,
        "systems": list(chosen),
        "baseline_settings": {
            "chunk_size": 1000,
            "chunk_overlap": 200,
            "top_k": 4,
            "query_prefix": "Represent this sentence for searching relevant passages: ",
            "ensemble_weights": [0.5, 0.5],
            "rerank_top_n": 4,
        },
        "settings": json.loads(settings.model_dump_json()),
        "index_manifest": manifest,
        "url": url,
        "answer_cache": "none",
        "summary": summary,
        "records": records_as_dicts(records),
    }
    if split == "test":
        result = seal(result)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2, default=str))
    md = [
        "# ofsted-qa evaluation",
        "",
        f"Commit `{result['commit'][:12]}`, {len(questions)} questions, split "
        f"`{split}`. Each cell: value [95% bootstrap CI] (n questions).",
        "",
    ]
    rows = {n: s["all"] for n, s in summary.items()}
    md += [f"## Systems on the {split} split", "", markdown_table(rows, "system"), ""]
    for name, s in summary.items():
        if "generation" in s:
            md += generation_markdown(name, s["generation"])
        md += [f"## {name} by question type", "", markdown_table(s["by_type"], "type"), ""]
        md += [f"## {name} by register", "", markdown_table(s["by_register"], "register"), ""]
        if split == "test":
            continue  # question ids are per-question output: the test split reports aggregates only
        checks = s["authority_checks"]
        md += [
            f"{name}: of {checks['citations_checked']} citations on answerable questions, "
            f"{checks['wrong_authority']} cite another authority than the gold's "
            f"({', '.join(checks['wrong_authority_questions']) or 'none'}) and {checks['stale']} cite an older report "
            f"of that authority than a gold one as the current position "
            f"({', '.join(checks['stale_questions']) or 'none'}); "
            f"{checks['older_shown_as_history']} older citations are shown as earlier reports' findings.",
            "",
        ]
    (out / "report.md").write_text("\n".join(md))
    if plots and split != "test":
        draw_plots(records, list(chosen), out)
    return result


def with_llm(settings: Settings, llm: dict[str, Any]) -> Settings:
    """Return the settings with the LLM endpoint to evaluate, the extractive answerer the default and the LLM one
    chosen per question; raise DatasetError when no endpoint is named."""
    if not llm.get("base_url"):
        raise DatasetError(
            "--systems ofsted-qa-llm needs --llm-url: an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 "
            "(.venv/bin/python -m eval.local_llm --port 8080 serves the small local model there)."
        )
    fields = {**settings.llm.model_dump(), **llm, "answerer": "extractive", "allow_per_request": True}
    return settings.model_copy(update={"llm": LlmSettings.model_validate(fields)})


def _canonical(q: Question, aliases: dict[str, str]) -> list[Any]:
    return [g.model_copy(update={"document_id": aliases.get(g.document_id, g.document_id)}) for g in q.gold]


def draw_plots(records: list[Record], systems: list[str], out: Path) -> None:
    """Write metrics.png (bars per system), types.png (hit rate per type) and latency.png (distribution)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["hit_rate", "citation_precision", "refusal_accuracy", "false_refusals"]
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / max(1, len(systems))
    for i, name in enumerate(systems):
        s = summarise([r for r in records if r.system == name])
        ax.bar([m + i * width for m in range(len(metrics))], [s[k]["value"] or 0 for k in metrics], width, label=name)
    ax.set_xticks([m + 0.4 - width / 2 for m in range(len(metrics))], metrics)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=100)
    plt.close(fig)
    types = sorted({r.type for r in records if r.answerable})
    fig, ax = plt.subplots(figsize=(10, 4))
    for i, name in enumerate(systems):
        by = summarise_by([r for r in records if r.system == name and r.answerable], "type")
        ax.bar(
            [t + i * width for t in range(len(types))],
            [by[t]["hit_rate"]["value"] or 0 for t in types],
            width,
            label=name,
        )
    ax.set_xticks([t + 0.4 - width / 2 for t in range(len(types))], types)
    ax.set_ylabel("hit rate")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "types.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.boxplot([[r.latency_ms for r in records if r.system == n] for n in systems], tick_labels=systems)
    ax.set_ylabel("latency (ms)")
    ax.tick_params(axis="x", labelrotation=20, labelsize=7)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)
