"""Understand: what a question says about which reports and which service it means, before anything is searched.

Pure functions over the question text and the reports in scope:
- a date attached to a report word ('the 2025 focused visit', 'the inspection in March 2024') names a report;
  any other date ('after the front door moved in March 2023') dates an event and never empties the scope;
- 'since <a report>' asks about the reports after it, whether or not that report is indexed;
- a grade asked of a report kind that carries no grades (focused and monitoring visits) is answered as such;
- a question about a service outside children's social care (adult social care, schools) is out of remit.
The phrases that decide the last rule are data (`indexer/data/remit.json`), each with its provenance.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from api.intent import asks_grade_by_model
from indexer.models import Report
from indexer.settings import PACKAGE_DATA

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = rf"(?:{'|'.join(MONTHS)})"
_KIND = r"(inspection|focused visit|monitoring visit|monitoring letter|ILACS)"
_DATE = rf"(?:({_MONTH})\s+)?(20[0-3]\d)"
_SINCE = r"(since|after|following)\s+(?:the\s+|its\s+|their\s+|[A-Z][A-Za-z&' ]{0,30}'s\s+)?"
# 'the 2025 focused visit', 'the March 2024 inspection'
_DATE_THEN_KIND = re.compile(rf"(?:{_SINCE})?\b{_DATE}\s+{_KIND}\b", re.I)
# 'the focused visit in 2025', 'the inspection of March 2024', 'the monitoring visit published in May 2023'
_KIND_THEN_DATE = re.compile(
    rf"(?:{_SINCE})?\b{_KIND}\s+(?:(?:carried out|published|held|dated)\s+)?(?:in|of|from|on)\s+{_DATE}\b", re.I
)
_ANY_DATE = re.compile(rf"\b{_DATE}\b", re.I)
UNGRADED_KINDS = frozenset({"focused visit", "monitoring visit"})
# a grade named outright: 'how did X do' or 'how well' may ask for findings, which a visit does give
_GRADE_WORDS = re.compile(
    r"\b(?:grades?|graded|grading|rated|rating|ratings|judgements?|judgments?|outstanding|inadequate"
    r"|requires improvement)\b",
    re.I,
)


class ReportReference(BaseModel):
    """A report the question names by kind and date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(description="inspection, focused visit or monitoring visit.")
    year: int
    month: int | None = Field(default=None, description="1-12 when the question names the month.")
    since: bool = Field(default=False, description="Named after 'since', 'after' or 'following'.")
    text: str = Field(description="The words that named it.")


class EventDate(BaseModel):
    """A date in the question that is not attached to a report word: when something happened."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int
    month: int | None = None


def _kind(word: str) -> str:
    word = word.lower()
    return {"monitoring letter": "monitoring visit", "ilacs": "inspection"}.get(word, word)


def report_references(question: str) -> list[ReportReference]:
    """Return the reports a question names by kind and date, in the order it names them."""
    found: list[tuple[int, ReportReference]] = []
    for m in _DATE_THEN_KIND.finditer(question):
        month = MONTHS.index(m.group(2).lower()) + 1 if m.group(2) else None
        ref = ReportReference(
            kind=_kind(m.group(4)), year=int(m.group(3)), month=month, since=bool(m.group(1)), text=m.group(0)
        )
        found.append((m.start(), ref))
    for m in _KIND_THEN_DATE.finditer(question):
        month = MONTHS.index(m.group(3).lower()) + 1 if m.group(3) else None
        ref = ReportReference(
            kind=_kind(m.group(2)), year=int(m.group(4)), month=month, since=bool(m.group(1)), text=m.group(0)
        )
        found.append((m.start(), ref))
    return [ref for _, ref in sorted(found, key=lambda x: x[0])]


def event_dates(question: str) -> list[EventDate]:
    """Return the dates in a question that name no report (each an event's date)."""
    named = [
        span for m in (*_DATE_THEN_KIND.finditer(question), *_KIND_THEN_DATE.finditer(question)) for span in [m.span()]
    ]
    out: list[EventDate] = []
    for m in _ANY_DATE.finditer(question):
        if any(a <= m.start() < b for a, b in named):
            continue
        month = MONTHS.index(m.group(1).lower()) + 1 if m.group(1) else None
        out.append(EventDate(year=int(m.group(2)), month=month))
    return out


def _dates(report: Report) -> list[dt.date]:
    return [*report.inspection_dates, *([report.published] if report.published else [])]


def referenced_reports(ref: ReportReference, reports: list[Report]) -> list[Report]:
    """Return the reports a reference names: that kind and year (and month, where one matches it)."""
    kind = [r for r in reports if r.kind == ref.kind and ref.year in {d.year for d in _dates(r)}]
    if ref.month is not None:
        month = [r for r in kind if (ref.year, ref.month) in {(d.year, d.month) for d in _dates(r)}]
        return month or kind
    return kind


def reports_since(ref: ReportReference, reports: list[Report]) -> list[Report]:
    """Return the reports a 'since <report>' question is about: that report (when indexed) and every later one."""
    named = referenced_reports(ref, reports)
    if named:
        start = min(r.ends for r in named)
        return [r for r in reports if r.ends >= start]
    return [r for r in reports if r.ends.year > ref.year or (r.ends.year == ref.year and r.kind != ref.kind)]


def asks_for_grade(question: str) -> bool:
    """Return whether a question asks for a judgement grade in so many words."""
    return bool(_GRADE_WORDS.search(question))


# grade questions that name no grade word: 'How did Ofsted rate…', 'How were care leavers judged', 'only RI?'.
# Everyday forms no rule lists ('what did Brum get overall') are read by the grade-intent model (api/intent.py).
_GRADE_ASKED = re.compile(
    r"\b(?:judged?|judges|rate|verdict|effective(?:ness)? overall|overall effectiveness|how effective|RI)\b"
    r"|\bhow (?:well|badly) did\b|\bhow did .{0,60}\bdo\b|\b(?:good|outstanding|inadequate) overall\b",
)


def about_grades(question: str) -> bool:
    """Return whether a question is about judgement grades, so that the judgement table may answer it. Any other
    question is answered from the report's paragraphs: the table says how an area was judged, never why."""
    return (
        asks_for_grade(question)
        or bool(_GRADE_ASKED.search(question) or re.search(r"\bjudged?\b", question, re.I))
        or asks_grade_by_model(question)
    )


def ungraded_only(reports: list[Report]) -> bool:
    """Return whether every report in scope is of a kind that carries no judgement grades."""
    return bool(reports) and all(r.kind in UNGRADED_KINDS for r in reports)


def _alternatives(phrases: list[str]) -> re.Pattern[str]:
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in ordered) + r")(?:'s|s)?\b", re.I)


@cache
def _remit() -> tuple[re.Pattern[str], dict[str, str], re.Pattern[str]]:
    data = json.loads((PACKAGE_DATA / "remit.json").read_text(encoding="utf-8"))
    services: dict[str, str] = {entry["phrase"].lower(): entry["service"] for entry in data["outside"]}
    return _alternatives(list(services)), services, _alternatives(data["children"]["words"])


def outside_remit(question: str) -> str | None:
    """Return the service a question asks about when it lies outside children's social care (else None): it names
    one (adult social care, school inspections) and speaks of no child, young person or care leaver."""
    pattern, services, children = _remit()
    m = pattern.search(question)
    if m is None or children.search(question):
        return None
    return services.get(m.group(0).lower().removesuffix("'s"), services.get(m.group(0).lower().rstrip("s")))
