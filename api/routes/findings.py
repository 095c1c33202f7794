"""POST /findings (JSON, Markdown or CSV) and GET /glossary."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.findings import FindingsRequest, to_csv, to_markdown
from api.security import ReadKey
from indexer.glossary import Term, load_glossary
from indexer.models import Findings

router = APIRouter(tags=["findings"], dependencies=[ReadKey])


@router.post(
    "/findings",
    response_model=Findings,
    summary="What inspectors said about a topic, by authority and report",
    responses={200: {"content": {"text/markdown": {}, "text/csv": {}}}},
)
async def findings(
    body: FindingsRequest,
    engine: EngineDep,
    format: Literal["json", "markdown", "csv"] = Query(  # noqa: A002 - the public parameter name
        default="json", description="json, or markdown / csv to paste into a briefing (with the OGL attribution)."
    ),
) -> Findings | Response:
    """Return every relevant paragraph, grouped by authority and report (oldest first), with grade history."""
    result = await run_in_threadpool(engine.findings, body)
    if format == "markdown":
        return PlainTextResponse(to_markdown(result), media_type="text/markdown; charset=utf-8")
    if format == "csv":
        return PlainTextResponse(
            to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="findings.csv"'},
        )
    return result


@router.get("/glossary", response_model=list[Term], summary="The social-care glossary")
def glossary() -> list[Term]:
    """Return every glossary entry: term, expansion, synonyms, one-line meaning and source."""
    return list(load_glossary())
