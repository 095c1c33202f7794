"""The `ofsted-qa` command: index, serve, ask, eval, bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from indexer.errors import OfstedQAError
from indexer.settings import Settings, get_settings

app = typer.Typer(
    help="Questions answered from Ofsted reports, every sentence cited to its paragraph.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings(index: Path | None) -> Settings:
    settings = get_settings()
    if index is not None:
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": index})})
    return settings


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


IndexOpt = Annotated[Path | None, typer.Option("--index", help="Index directory (default: data/index).")]


@app.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Report files (.pdf, .txt) or folders of them.")],
    index: IndexOpt = None,
    fresh: Annotated[bool, typer.Option(help="Start from an empty index instead of adding to it.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write a per-file parse report (JSON) here.")] = None,
) -> None:
    """Index reports: parse, embed what changed, swap the new index in atomically."""
    from tqdm import tqdm

    from indexer.embed import Embedder, Reranker
    from indexer.store import build_index

    settings = _settings(index)
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        typer.echo(f"error: {p}: no such file or folder. Skipped.", err=True)
    paths = [p for p in paths if p.exists()]
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=total, desc=stage, unit="file" if stage == "parse" else "chunk", file=sys.stderr, leave=False
            )
        bar.update(done - bar.n)

    embedder = Embedder(
        settings.index.embed_batch_size, settings.index.embed_workers, folder=settings.index.embedder_dir
    )
    reranker = Reranker(
        settings.index.model_cache_dir, settings.retrieval.rerank_workers, settings.retrieval.reranker_dir
    )
    try:
        result = build_index(
            paths,
            settings.index.dir,
            embedder,
            reranker.name,
            reranker.sha256,
            settings.index.max_chunk_words,
            keep_existing=not fresh,
            progress=progress,
        )
    except OfstedQAError as exc:
        _fail(exc)
        return
    finally:
        for bar in bars.values():
            bar.close()
    for failure in result.failures:
        typer.echo(f"error: {failure}", err=True)
    for note in result.duplicates:
        typer.echo(f"note: {note}", err=True)
    idx = result.index
    if report is not None:
        rows = [
            {
                "document_id": r.document_id,
                "aliases": r.aliases,
                "title": r.title,
                "local_authority": r.local_authority,
                "kind": r.kind,
                "inspection_dates": [d.isoformat() for d in r.inspection_dates],
                "published": r.published.isoformat() if r.published else None,
                "inspectors": r.inspectors,
                "judgements": r.judgements,
                "paragraphs": len(r.paragraphs),
                "warnings": r.warnings,
                "source": r.source_path,
            }
            for r in idx.reports.values()
        ]
        report.write_text(json.dumps({"reports": rows, "failures": result.failures}, indent=2))
    typer.echo(
        f"Indexed {len(idx.reports)} reports, {len(idx.paragraphs)} paragraphs in {result.seconds:.1f} s "
        f"(parse {result.parse_seconds:.1f} s, embed {result.embed_seconds:.1f} s) "
        f"({result.embedded} chunks embedded, {result.reused} unchanged; {len(result.failures) + len(missing)} "
        f"files failed) → {settings.index.dir}"
    )
    if result.failures or missing:
        raise typer.Exit(1 if not result.reports_added and not result.reports_unchanged else 0)


@app.command()
def serve(
    index: IndexOpt = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(envvar="PORT", help="Port (default 8000, or $PORT).")] = None,
    workers: Annotated[
        int,
        typer.Option(min=1, max=64, help="Worker processes, each with its own index and models (see README, Load)."),
    ] = 1,
) -> None:
    """Serve the API and chat page; indexes the bundled reports on first start when no index exists.

    A damaged index, or one built with other models, stops the server before it listens, with one sentence
    saying how to rebuild; with no index at all it serves 503 (and /ready says so) until one is built."""
    import logging.config

    from api.engine import Engine
    from api.observe import log_config
    from api.serve import run_server
    from indexer.errors import IndexNotFoundError

    settings = _settings(index)
    logs = log_config(settings.api.log_format)
    logging.config.dictConfig(logs)
    engine = Engine(settings)
    try:
        engine.load(build_default=index is None)
    except IndexNotFoundError as exc:
        typer.echo(f"warning: {exc}", err=True)
    except OfstedQAError as exc:
        _fail(exc)
    h, p = host or settings.api.host, port or settings.api.port
    typer.echo(f"ofsted-qa: serving on http://{h}:{p} (chat page at /, API docs at /docs)", err=True)
    try:
        # one worker serves the engine loaded here; several each load their own (the index is checked above)
        run_server(settings, h, p, workers=workers, engine=engine if workers == 1 else None, log_config=logs)
    except OfstedQAError as exc:
        _fail(exc)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    index: IndexOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the /ask body as JSON.")] = False,
) -> None:
    """Answer one question from the index, with its citations."""
    from api.engine import Engine

    settings = _settings(index)
    try:
        engine = Engine(settings)
        engine.load(build_default=index is None)
        answer = engine.ask(question)
    except OfstedQAError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    typer.echo(answer.answer if not answer.answerable else "")
    for sentence in answer.sentences:
        refs = ", ".join(
            f"{answer.citations[i].document_id} ¶{answer.citations[i].paragraph}" for i in sentence.citations
        )
        typer.echo(f"{sentence.text} [{refs}]")
    for sentence in answer.earlier:
        refs = ", ".join(
            f"{answer.earlier_citations[i].document_id} ¶{answer.earlier_citations[i].paragraph}"
            for i in sentence.citations
        )
        typer.echo(f"Earlier report: {sentence.text} [{refs}]")
    if answer.closest:
        typer.echo("Related, but not an answer:")
        for c in answer.closest:
            typer.echo(f"  {c.document_id} ¶{c.paragraph}: {c.text[:100]}…")


@app.command()
def findings(
    topic: Annotated[str, typer.Argument(help="The topic, in quotes: 'MASH', 'emergency duty team'…")],
    la: Annotated[str | None, typer.Option("--la", help="Only this local authority (name or alias).")] = None,
    kind: Annotated[str | None, typer.Option(help="inspection, monitoring visit or focused visit.")] = None,
    since: Annotated[str | None, typer.Option(help="Reports ending on or after this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Reports starting on or before this date (YYYY-MM-DD).")] = None,
    compare_with: Annotated[str | None, typer.Option(help="statistical_neighbours or region (needs --la).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="markdown, csv or json.")] = "markdown",
    index: IndexOpt = None,
) -> None:
    """What inspectors said about a topic, by authority and report, ready to paste into a briefing."""
    from pydantic import ValidationError

    from api.engine import Engine
    from api.findings import FindingsRequest, to_csv, to_markdown

    if fmt not in ("markdown", "csv", "json"):
        _fail(ValueError(f"--format {fmt!r}: use markdown, csv or json."))
    settings = _settings(index)
    try:
        request = FindingsRequest.model_validate(
            {
                "topic": topic,
                "local_authority": la,
                "kind": kind,
                "since": since,
                "until": until,
                "compare_with": compare_with,
            }
        )
        engine = Engine(settings)
        engine.load(build_default=index is None)
        result = engine.findings(request)
    except ValidationError as exc:
        _fail(ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())))
        return
    except OfstedQAError as exc:
        _fail(exc)
        return
    if fmt == "json":
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(to_markdown(result) if fmt == "markdown" else to_csv(result), nl=False)


def _mount_optional() -> None:
    """Mount the eval and bench commands from the layer above, when present."""
    try:
        from eval.cli import register
    except ImportError:
        return
    register(app)


_mount_optional()

if __name__ == "__main__":
    app()
