"""GET /reports, /reports/{id}, /reports/{id}/paragraphs/{label}, /reports/{id}/pdf, /coverage."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.answer import make_citation
from api.deps import IndexDep
from api.schemas import Coverage
from indexer.errors import NotFoundError
from indexer.models import Citation, Report, ReportSummary

router = APIRouter(tags=["reports"])


@router.get("/reports", response_model=list[ReportSummary], summary="List the indexed reports")
def list_reports(index: IndexDep) -> list[ReportSummary]:
    """Return every indexed report's metadata and grades, oldest first."""
    reports = sorted(index.reports.values(), key=lambda r: (r.local_authority, r.inspection_dates[:1]))
    return [ReportSummary.of(r) for r in reports]


@router.get("/reports/{document_id}", response_model=Report, summary="One report with its paragraphs")
def get_report(document_id: str, index: IndexDep) -> Report:
    """Return a report (by id or alias): metadata, grades and paragraphs."""
    return index.report(document_id)


@router.get("/reports/{document_id}/paragraphs/{label}", response_model=Citation, summary="One paragraph")
def get_paragraph(document_id: str, label: str, index: IndexDep) -> Citation:
    """Return one paragraph with its report's metadata, as a citation."""
    report = index.report(document_id)
    paragraph = report.paragraph(label)
    if paragraph is None:
        labels = ", ".join(p.label for p in report.paragraphs[:8])
        raise NotFoundError(f"Report {report.document_id} has no paragraph '{label}'. Labels look like: {labels}…")
    return make_citation(index, paragraph, 1.0)


@router.get("/reports/{document_id}/pdf", summary="The original PDF", response_class=FileResponse)
def get_pdf(document_id: str, index: IndexDep) -> FileResponse:
    """Return the original PDF file of a report indexed from a PDF."""
    report = index.report(document_id)
    path = Path(report.source_path)
    if path.suffix.lower() != ".pdf" or not path.is_file():
        raise NotFoundError(f"Report {report.document_id} was indexed from text, not a PDF: no original to serve.")
    return FileResponse(
        path, media_type="application/pdf", filename=f"{report.document_id}.pdf", content_disposition_type="inline"
    )


@router.get("/coverage", response_model=Coverage, summary="What is indexed")
def coverage(index: IndexDep) -> Coverage:
    """Return the authorities, report and paragraph counts and the date range indexed."""
    dates = [d for r in index.reports.values() for d in r.inspection_dates]
    return Coverage(
        authorities=sorted({r.local_authority for r in index.reports.values() if r.local_authority}),
        reports=len(index.reports),
        paragraphs=len(index.paragraphs),
        earliest=min(dates) if dates else None,
        latest=max(dates) if dates else None,
        indexed_at=index.manifest.created_at,
    )
