"""Writes, keyed: POST /reports (upload), DELETE /reports/{id}, and GET /jobs/{id} for the state of either."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.jobs import Job, Jobs, check_upload, parse_upload, store_upload
from api.security import WriteKey

router = APIRouter(tags=["writes"])


def _jobs(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


@router.post(
    "/reports",
    response_model=Job,
    status_code=202,
    summary="Add or replace a report (.pdf or .txt); needs an API key",
    responses={401: {"description": "No valid API key."}, 422: {"description": "The file is refused, and why."}},
)
async def upload_report(
    request: Request,
    engine: EngineDep,
    _key: WriteKey,
    file: Annotated[UploadFile, File(description="The report: a PDF, or UTF-8 text; its type is read from its bytes.")],
    document_id: Annotated[
        str | None, Form(description="The report's id (default: from the file name, e.g. luton-inspection-2024-09-09).")
    ] = None,
) -> Job:
    """Check the file (type by content, size, encryption, that it reads as a report), store it and queue indexing.

    The new index generation is built beside the live one and swapped in; GET /jobs/{id} says when it is live.
    """
    api = engine.settings.api
    data = await file.read(api.max_upload_bytes + 1)
    doc, suffix = check_upload(data, file.filename or "", document_id, api.max_upload_bytes)
    api.uploads_dir.mkdir(parents=True, exist_ok=True)
    await run_in_threadpool(parse_upload, data, doc, suffix, api.uploads_dir)  # refuses what is not a report
    path = await run_in_threadpool(store_upload, data, doc, suffix, api.uploads_dir)
    return _jobs(request).add(path, doc)


@router.delete(
    "/reports/{document_id}",
    response_model=Job,
    status_code=202,
    summary="Remove a report from the index; needs an API key",
    responses={401: {"description": "No valid API key."}, 404: {"description": "No such report."}},
)
def delete_report(document_id: str, request: Request, engine: EngineDep, _key: WriteKey) -> Job:
    """Queue removal of the report (by id or alias); GET /jobs/{id} says when the smaller index is live."""
    doc = engine.require_index().resolve_id(document_id)
    return _jobs(request).remove(doc, engine.settings.api.uploads_dir)


@router.get("/jobs/{job_id}", response_model=Job, summary="The state of an upload or removal")
def get_job(job_id: str, request: Request, _key: WriteKey) -> Job:
    """Return the job: queued, running, done (with the generation made live) or failed (with why)."""
    return _jobs(request).get(job_id)
