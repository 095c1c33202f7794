"""`ofsted-qa eval` and `ofsted-qa bench`, mounted on the root command by api/cli.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from indexer.errors import OfstedQAError


def register(app: typer.Typer) -> None:
    """Add the eval and bench commands to the root app."""

    @app.command("eval")
    def eval_command(
        sets: Annotated[
            list[Path] | None, typer.Option("--set", help="Question file(s), JSONL (default: ours).")
        ] = None,
        index: Annotated[Path | None, typer.Option("--index", help="Index directory (default: data/index).")] = None,
        url: Annotated[
            str | None, typer.Option(help="Evaluate a running server instead, e.g. http://host:8000.")
        ] = None,
        split: Annotated[
            str, typer.Option(help="dev (default) or test; test prints aggregate figures only. Tune on dev.")
        ] = "dev",
        systems: Annotated[list[str] | None, typer.Option("--systems", help="Systems to run (default: all).")] = None,
        out: Annotated[Path, typer.Option(help="Folder for results.json and report.md.")] = Path("eval/out"),
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
        llm_url: Annotated[
            str | None,
            typer.Option(help="OpenAI-compatible endpoint for --systems ofsted-qa-llm, e.g. http://127.0.0.1:8080/v1."),
        ] = None,
        llm_model: Annotated[str | None, typer.Option(help="Model name the endpoint serves.")] = None,
        llm_response_format: Annotated[
            str | None, typer.Option(help="json_schema (OpenAI, Azure, vLLM, Ollama) or json_object (llama.cpp).")
        ] = None,
        llm_timeout_s: Annotated[float | None, typer.Option(help="Longest wait for one answer.")] = None,
    ) -> None:
        """Run a question set and print, per split: hit rate, citation recall/precision, refusals, latency.

        `--systems ofsted-qa-llm --llm-url URL` runs the LLM answerer beside the extractive one (ofsted-qa) on the
        same questions, and adds the sentences the check dropped (and why), the fallbacks and generation time."""
        from eval.report import evaluate

        llm = {
            k: v
            for k, v in {
                "base_url": llm_url,
                "model": llm_model,
                "response_format": llm_response_format,
                "timeout_s": llm_timeout_s,
            }.items()
            if v is not None
        }
        try:
            result = evaluate(sets or [], index=index, url=url, split=split, out=out, systems=systems, llm=llm)
        except (OfstedQAError, ValueError) as exc:  # ValueError: an --llm-… value the settings refuse
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        if as_json:
            typer.echo(json.dumps(result["summary"], indent=2))
        else:
            typer.echo((out / "report.md").read_text())

    @app.command("bench")
    def bench_command(
        out: Annotated[Path, typer.Option(help="Folder for bench.json and bench.md.")] = Path("bench/out"),
        corpus: Annotated[Path, typer.Option(help="Folder of PDFs for the indexing benchmark.")] = Path(
            "../shared/corpus"
        ),
        repeats: Annotated[int, typer.Option(help="Times each question is asked per setting.")] = 1,
        index: Annotated[
            Path | None, typer.Option(help="Benchmark this existing index (e.g. the national one).")
        ] = None,
        questions: Annotated[Path | None, typer.Option("--set", help="Question file for the latency run.")] = None,
    ) -> None:
        """Benchmark /ask latency over HTTP per rerank depth, and indexing speed; writes JSON and Markdown."""
        from eval.bench import run_bench

        try:
            from eval.dataset import DEFAULT_SET

            table = run_bench(out, corpus, repeats, index=index, questions=questions or DEFAULT_SET)
        except OfstedQAError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(table)

    @app.command("bench-load")
    def bench_load_command(
        out: Annotated[Path, typer.Option(help="Folder for load.json, load.md and the server's log.")] = Path(
            "bench/out/load"
        ),
        seconds: Annotated[float, typer.Option(min=1, help="Seconds per phase (6 phases per worker count).")] = 60,
        clients: Annotated[
            list[int] | None, typer.Option("--clients", min=1, help="Concurrent clients (repeat; default 1, 10, 50).")
        ] = None,
        workers: Annotated[
            list[int] | None,
            typer.Option("--workers", min=1, help="Server worker processes (repeat; default 1, 2, 4)."),
        ] = None,
        corpus: Annotated[
            list[Path] | None,
            typer.Option("--corpus", help="Reports to index and serve (repeat; default the bundled reports)."),
        ] = None,
        questions: Annotated[Path | None, typer.Option("--set", help="Questions asked, in turn.")] = None,
    ) -> None:
        """Load a real server on loopback: 1, 10, 50 clients, steady and during a reindex, at 1, 2, 4 workers."""
        from eval.dataset import DEFAULT_SET
        from eval.load import CLIENTS, WORKERS, run_load, to_markdown, total_errors

        try:
            result = run_load(
                out,
                seconds,
                clients or CLIENTS,
                workers or WORKERS,
                corpus=corpus,
                questions_path=questions or DEFAULT_SET,
            )
        except OfstedQAError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(to_markdown(result))
        if total_errors(result):
            typer.echo(f"error: {total_errors(result)} requests failed; see {out / 'load.json'}.", err=True)
            raise typer.Exit(1)

    @app.command("eval-ceiling")
    def eval_ceiling_command(
        sets: Annotated[
            list[Path] | None, typer.Option("--set", help="Question file(s), JSONL (default: ours).")
        ] = None,
        index: Annotated[Path | None, typer.Option("--index", help="Index directory (default: data/index).")] = None,
        split: Annotated[
            str, typer.Option(help="dev (default) or test; test prints aggregate figures only. Tune on dev.")
        ] = "dev",
        out: Annotated[Path, typer.Option(help="Folder for ceiling.json and ceiling.md.")] = Path("eval/out"),
    ) -> None:
        """The best hit rate any reranker could reach reading 4, 8, 12, 16 or 30 first-stage candidates."""
        from api.cli import _settings
        from api.engine import Engine
        from eval.ceiling import ceiling_rows, markdown, rows_as_dicts, summary
        from eval.dataset import DEFAULT_SET, load_questions
        from eval.report import select

        if split not in {"dev", "test"}:
            typer.echo(f"error: --split must be dev or test, not {split!r}", err=True)
            raise typer.Exit(2)
        try:
            engine = Engine(_settings(index))
            idx = engine.load(build_default=False)
            questions = [q for path in sets or [DEFAULT_SET] for q in load_questions(path)]
            rows = ceiling_rows(
                select(questions, split),
                lambda q, history: engine.ask(q, history=history),
                lambda q, history: engine.candidates(q, history=history),
                idx.resolve_id,
            )
        except OfstedQAError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        splits = sorted({r.split for r in rows})
        by_split = {s: summary([r for r in rows if r.split == s]) for s in splits} | {"all": summary(rows)}
        out.mkdir(parents=True, exist_ok=True)
        rows_out = [] if split == "test" else rows_as_dicts(rows)  # the test split: aggregates only
        (out / "ceiling.json").write_text(json.dumps({"summary": by_split, "rows": rows_out}, indent=2))
        table = markdown(by_split)
        (out / "ceiling.md").write_text(table)
        typer.echo(table)

    @app.command("eval-threshold")
    def eval_threshold_command(
        sets: Annotated[list[Path], typer.Option("--set", help="Dev question file(s), JSONL.")],
        index: Annotated[Path | None, typer.Option("--index", help="Index directory (default: data/index).")] = None,
        out: Annotated[Path, typer.Option(help="Folder for threshold.json and threshold.md.")] = Path("eval/out"),
    ) -> None:
        """Sweep the judge's answer-or-refuse threshold over dev questions (never test): figures per threshold."""
        from api.cli import _settings
        from api.engine import Engine
        from eval.dataset import load_questions
        from eval.report import select
        from eval.threshold import judged, markdown, sweep

        try:
            engine = Engine(_settings(index))
            idx = engine.load(build_default=False)
            questions = select([q for path in sets for q in load_questions(path)], "dev")
            rows = judged(engine, questions)
        except OfstedQAError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        table = sweep(rows, idx.aliases)
        out.mkdir(parents=True, exist_ok=True)
        (out / "threshold.json").write_text(json.dumps({"sets": [str(s) for s in sets], "sweep": table}, indent=2))
        (out / "threshold.md").write_text(markdown(table))
        typer.echo(markdown(table))

    @app.command("bench-compare")
    def bench_compare_command(
        urls: Annotated[list[str], typer.Option("--url", help="Deployments to time; the first is the baseline.")],
        questions: Annotated[Path, typer.Option("--set", help="Question file, JSONL (dev questions are asked).")],
        repeats: Annotated[int, typer.Option(help="Times each question is asked of each deployment.")] = 1,
        out: Annotated[Path, typer.Option(help="Folder for compare.json and compare.md.")] = Path("bench/out"),
    ) -> None:
        """/ask p50 and p95 of several running deployments, asked in turn in one run, as ratios to the first."""
        from eval.dataset import load_questions
        from eval.latency import compare_latency, markdown
        from eval.report import select

        try:
            rows = compare_latency(urls, select(load_questions(questions), "dev"), repeats)
        except OfstedQAError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.json").write_text(json.dumps({"set": str(questions), "rows": rows}, indent=2))
        (out / "compare.md").write_text(markdown(rows))
        typer.echo(markdown(rows))

    @app.command("eval-findings")
    def eval_findings_command(
        index: Annotated[Path | None, typer.Option("--index", help="Index with the gold's reports.")] = None,
        topics: Annotated[Path | None, typer.Option("--set", help="Topic file, JSONL (default: ours).")] = None,
        out: Annotated[Path, typer.Option(help="Folder for findings.json and findings.md.")] = Path("eval/out"),
    ) -> None:
        """Score /findings against gold topics: recall, precision, about-above-mention ordering, latency."""
        from api.cli import _settings
        from api.engine import Engine
        from eval.findings import DEFAULT_TOPICS, evaluate_findings, load_topics, markdown_table

        try:
            engine = Engine(_settings(index))
            idx = engine.load(build_default=False)
            engine.warm_up()
            result = evaluate_findings(load_topics(topics or DEFAULT_TOPICS), engine.findings, idx.resolve_id)
        except OfstedQAError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        out.mkdir(parents=True, exist_ok=True)
        (out / "findings.json").write_text(json.dumps(result, indent=2))
        table = markdown_table(result)
        (out / "findings.md").write_text(table)
        typer.echo(table)

    @app.command("bench-growth")
    def bench_growth_command(
        index: Annotated[Path, typer.Option("--index", help="A real index to draw vectors and texts from.")] = Path(
            "data/national"
        ),
        sizes: Annotated[list[int] | None, typer.Option("--size", help="Paragraph counts (default 1e5, 1e6).")] = None,
        out: Annotated[Path, typer.Option(help="Folder for growth.json and growth.md.")] = Path("bench/out"),
    ) -> None:
        """Exact FAISS against HNSW (recall@10) and BM25, query time and memory at 1e5 and 1e6 paragraphs."""
        from eval.growth import run_growth

        try:
            table = run_growth(index, sizes or [100_000, 1_000_000], out)
        except OfstedQAError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(table)
