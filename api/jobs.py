"""Index jobs: an upload or a removal queued, run one at a time in a worker thread, its state kept for GET /jobs."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.engine import Engine
from indexer.errors import NotFoundError, OfstedQAError, ReportParseError, TooLargeError
from indexer.filecheck import document_id_from, sniff_report
from indexer.models import Report

State = Literal["queued", "running", "done", "failed"]


class Job(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="The job id: GET /jobs/{id} for its state.")
    action: Literal["add", "remove"] = Field(description="add (or replace) a report, or remove one.")
    document_id: str = Field(description="The report the job adds, replaces or removes.")
    state: State = Field(description="queued, running, done or failed.")
    detail: str = Field(default="", description="What happened, or why it failed and what to do.")
    generation: str | None = Field(default=None, description="The index generation the job made live.")
    created_at: str = Field(description="When the job was queued (UTC).")
    finished_at: str | None = Field(default=None, description="When it finished (UTC).")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_upload(data: bytes, filename: str, document_id: str | None, max_bytes: int) -> tuple[str, str]:
    """Return (document_id, '.pdf' or '.txt') for an upload, or raise ReportParseError saying why it is refused.

    The type comes from the bytes; the name only suggests the report id, which is reduced to letters, digits and
    hyphens, so no name ever becomes a path.
    """
    label = document_id or filename or "the upload"
    if len(data) > max_bytes:
        raise TooLargeError(
            f"{label[:80]}: more than {max_bytes:,} bytes (OFSTED_QA_API__MAX_UPLOAD_BYTES). Ask the operator to "
            "raise the limit, or upload the report without attachments."
        )
    suffix = sniff_report(data, label[:80])
    return document_id_from(document_id or filename or ""), suffix


def parse_upload(data: bytes, document_id: str, suffix: str, staging: Path) -> Report:
    """Return the report parsed from the bytes (in a private temporary folder), or raise ReportParseError."""
    from indexer.parse import parse_report

    with tempfile.TemporaryDirectory(dir=staging) as tmp:
        path = Path(tmp) / f"{document_id}{suffix}"
        path.write_bytes(data)
        try:
            report = parse_report(path)
        except ReportParseError as exc:
            raise ReportParseError(str(exc).replace(str(path), document_id + suffix)) from exc
    if not report.local_authority or not (report.inspection_dates or report.published):
        raise ReportParseError(
            f"{document_id}{suffix}: no report paragraphs found that read as an Ofsted report (no local authority "
            "or inspection dates). Upload the report as Ofsted published it."
        )
    return report


def store_upload(data: bytes, document_id: str, suffix: str, uploads_dir: Path) -> Path:
    """Write the upload as uploads_dir/<document_id><suffix> atomically (replacing an earlier one) and return it."""
    uploads_dir.mkdir(parents=True, exist_ok=True)
    final = uploads_dir / f"{document_id}{suffix}"
    tmp = uploads_dir / f".{document_id}.{uuid.uuid4().hex[:8]}.part"
    tmp.write_bytes(data)
    os.replace(tmp, final)
    for other in (".pdf", ".txt"):  # a report re-sent as the other type must not be indexed twice
        if other != suffix:
            (uploads_dir / f"{document_id}{other}").unlink(missing_ok=True)
    return final


class Jobs:
    """Queued index jobs, run one at a time; the last `keep` jobs are remembered."""

    def __init__(self, engine: Engine, keep: int = 1000) -> None:
        self.engine, self.keep = engine, keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-job")

    def get(self, job_id: str) -> Job:
        """Return a job, or raise NotFoundError."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                f"No job '{job_id[:40]}'. Use the id returned by POST /reports or DELETE /reports/{{id}}."
            )
        return job

    def _set(self, job: Job) -> Job:
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                self._jobs.popitem(last=False)
        return job

    def submit(self, action: Literal["add", "remove"], document_id: str, work: Callable[[], str]) -> Job:
        """Queue work (returning a sentence on success) and return the queued job."""
        job = self._set(
            Job(id=uuid.uuid4().hex, action=action, document_id=document_id, state="queued", created_at=_now())
        )
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[], str]) -> None:
        self._set(job.model_copy(update={"state": "running"}))
        try:
            detail = work()
        except OfstedQAError as exc:
            self._set(job.model_copy(update={"state": "failed", "detail": str(exc), "finished_at": _now()}))
            return
        except Exception as exc:  # a job must end in a state the client can read, whatever went wrong
            detail = f"Indexing failed ({type(exc).__name__}: {exc}). The previous index is still served; try again."
            self._set(job.model_copy(update={"state": "failed", "detail": detail, "finished_at": _now()}))
            return
        update = {"state": "done", "detail": detail, "finished_at": _now(), "generation": self.engine.generation}
        self._set(job.model_copy(update=update))

    def add(self, path: Path, document_id: str) -> Job:
        """Queue indexing of a stored upload (added, or replacing the report with the same id)."""

        def work() -> str:
            result = self.engine.build([path], keep_existing=True)
            if result.failures:
                raise ReportParseError("; ".join(result.failures))
            index = result.index
            return f"Indexed {document_id}: the index now holds {len(index.reports)} reports."

        return self.submit("add", document_id, work)

    def remove(self, document_id: str, uploads_dir: Path) -> Job:
        """Queue removal of a report (and of its uploaded file, if it came from an upload)."""

        def work() -> str:
            index = self.engine.remove([document_id])
            for suffix in (".pdf", ".txt"):
                (uploads_dir / f"{document_id}{suffix}").unlink(missing_ok=True)
            return f"Removed {document_id}: the index now holds {len(index.reports)} reports."

        return self.submit("remove", document_id, work)

    def shutdown(self) -> None:
        """Finish the job under way and stop."""
        self._pool.shutdown(wait=True, cancel_futures=True)
