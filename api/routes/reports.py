"""GET /reports, /reports/{id}, /reports/{id}/paragraphs/{label}, /reports/{id}/pdf, /coverage."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from api.compose import make_citation
from api.deps import IndexDep
from api.schemas import Coverage
from api.scope import validate_filters
from api.security import ReadKey
from indexer.errors import NotFoundError
from indexer.models import Citation, Report, ReportSummary
from indexer.parse import AREA_NAMES, GRADES
from indexer.store import Filters, Index

router = APIRouter(tags=["reports"], dependencies=[ReadKey])


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


class JudgementRow(BaseModel):
    document_id: str = Field(description="The report graded.")
    local_authority: str = Field(description="The authority inspected.")
    kind: str = Field(description="Kind of report (grades come from inspections).")
    inspection_dates: list[dt.date] = Field(description="First and last day of the inspection.")
    published: dt.date | None = Field(description="Publication date.")
    area: str = Field(description="Judgement area key, e.g. care_leavers.")
    area_name: str = Field(description="The area as printed in recent reports.")
    grade: str = Field(description="Outstanding, Good, Requires improvement to be good, Inadequate.")
    citation: str = Field(description="URL of the report's judgement table paragraph.")


def judgement_rows(
    index: Index, local_authority: str | None, area: str | None, grade: str | None, year: int | None
) -> list[JudgementRow]:
    """Return the extracted grades matching the filters, oldest first; unknown values raise NotFoundError."""
    if area is not None and area not in AREA_NAMES:
        raise NotFoundError(f"Unknown area '{area}'. Use one of: {', '.join(AREA_NAMES)}.")
    wanted_grade = None
    if grade is not None:
        wanted_grade = next((g for g in GRADES if g.lower().startswith(grade.lower())), None)
        if wanted_grade is None:
            raise NotFoundError(f"Unknown grade '{grade}'. Use one of: {', '.join(GRADES)}.")
    authority = validate_filters(Filters(local_authority=local_authority), index) if local_authority else None
    rows = []
    for report in index.reports.values():
        if authority is not None and report.local_authority != authority.local_authority:
            continue
        if year is not None and year not in {d.year for d in report.inspection_dates}:
            continue
        for key, value in report.judgements.items():
            if (area and key != area) or (wanted_grade and value != wanted_grade):
                continue
            rows.append(
                JudgementRow(
                    document_id=report.document_id,
                    local_authority=report.local_authority,
                    kind=report.kind,
                    inspection_dates=report.inspection_dates,
                    published=report.published,
                    area=key,
                    area_name=AREA_NAMES[key],
                    grade=value,
                    citation=f"/reports/{report.document_id}/paragraphs/judgements",
                )
            )
    return sorted(rows, key=lambda r: (r.local_authority, r.inspection_dates[:1], list(AREA_NAMES).index(r.area)))


@router.get("/judgements", response_model=list[JudgementRow], summary="Grades as data (JSON or CSV)")
def judgements(
    index: IndexDep,
    local_authority: str | None = None,
    area: str | None = None,
    grade: str | None = None,
    year: int | None = None,
    format: str = "json",
) -> list[JudgementRow] | Response:
    """Return every judgement grade matching the filters, each citing its report's judgement table."""
    rows = judgement_rows(index, local_authority, area, grade, year)
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([*JudgementRow.model_fields, "attribution"])
        attribution = (
            "Contains public sector information licensed under the Open Government Licence v3.0. Source: Ofsted."
        )
        for row in rows:
            data = row.model_dump(mode="json")
            data["inspection_dates"] = " to ".join(data["inspection_dates"])
            writer.writerow([*data.values(), attribution])
        return Response(buffer.getvalue(), media_type="text/csv")
    if format != "json":
        raise NotFoundError(f"Unknown format '{format}'. Use json or csv.")
    return rows
