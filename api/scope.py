"""Scope: which reports a question is about (authority, named report, kind, year, the conversation's authority)."""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, Field

from api.followup import Resolved, resolve_followup
from api.understand import (
    event_dates,
    referenced_reports,
    report_references,
    reports_since,
)
from indexer.authorities import find_authorities, same_authority
from indexer.errors import NotFoundError
from indexer.models import (
    Report,
    Turn,
)
from indexer.store import Filters, Index

KIND_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("monitoring visit", re.compile(r"monitoring (?:visit|letter)", re.I)),
    ("focused visit", re.compile(r"focused visit", re.I)),
    ("inspection", re.compile(r"\binspection\b|\bILACS\b", re.I)),
]


class Scope(BaseModel):
    """The reports a question is about: filters applied to both retrieval branches, and why it is empty."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    filters: Filters = Field(description="Report-level filters; document_ids [] means no indexed report is in scope.")
    note: str = Field(default="", description="Why the scope is empty, when it is ('the 2018 inspection').")


COMPARATIVE = re.compile(
    r"\b(?:better|worse|than (?:in|at|before)|since|compared?|changed?|improved?|progress(?:ed)? since)\b", re.I
)


def report_dates(report: Report) -> list[dt.date]:
    return [*report.inspection_dates, *([report.published] if report.published else [])]


def report_years(report: Report) -> set[int]:
    return {d.year for d in report_dates(report)}


KINDS = ("inspection", "monitoring visit", "focused visit")


def validate_filters(filters: Filters | None, index: Index) -> Filters | None:
    """Return the filters with the authority spelled as indexed, or raise NotFoundError listing valid values."""
    if filters is None:
        return None
    update: dict[str, object] = {}
    if filters.kind is not None and filters.kind not in KINDS:
        raise NotFoundError(f"Unknown kind '{filters.kind}'. Use one of: {', '.join(KINDS)}.")
    if filters.local_authority:
        indexed = sorted({r.local_authority for r in index.reports.values() if r.local_authority})
        named = find_authorities(filters.local_authority)
        match = [a for a in indexed if named and any(same_authority(a, la) for la in named)]
        if not match:
            raise NotFoundError(
                f"No indexed reports for local authority '{filters.local_authority}'. Indexed: {', '.join(indexed)}."
            )
        update["local_authority"] = match[0]
    if filters.document_ids:
        update["document_ids"] = [index.resolve_id(d) for d in filters.document_ids]
    return filters.model_copy(update=update) if update else filters


def resolve_scope(question: str, index: Index, filters: Filters | None) -> Scope:
    """Return the filters a question implies (kinds, years, authority) on top of the caller's.

    Kind and year words narrow the reports only when some indexed report matches them; a question naming a
    report that is not indexed ('the 2018 inspection') gets an empty scope, so it is refused, not answered
    from another report.
    """
    base = filters or Filters()
    reports = [index.reports[d] for d in index.allowed_documents(base)]
    chosen = reports
    named = find_authorities(question)
    if named:
        chosen = [r for r in chosen if any(same_authority(r.local_authority, la) for la in named)]
        if not chosen:
            return Scope(
                filters=base.model_copy(update={"document_ids": []}), note=" or ".join(la.name for la in named)
            )
    references = report_references(question)
    if references:  # 'the 2025 focused visit' selects that report; 'since the 2019 inspection', the ones after
        picked: list[Report] = []
        for ref in references:
            found = reports_since(ref, chosen) if ref.since else referenced_reports(ref, chosen)
            if not found:
                return Scope(filters=base.model_copy(update={"document_ids": []}), note=f"the {ref.year} {ref.kind}")
            picked += [r for r in found if r not in picked]
        chosen = picked
    elif base.kind is None and not COMPARATIVE.search(question):
        kinds = {kind for kind, pattern in KIND_WORDS if pattern.search(question)}
        if re.search(r"\b(visit|letter)\b", question, re.I) and not kinds & {"monitoring visit", "focused visit"}:
            kinds |= {"monitoring visit", "focused visit"}
        same = [r for r in chosen if r.kind in kinds]
        if same and len(kinds) < len(KIND_WORDS):
            chosen = same
    relative = _RELATIVE_REPORT.search(question)
    # a date that names no report ('in March 2023') prefers the reports of that month, else of that year, and
    # never empties the scope: it may date an event that a later report describes
    dates = event_dates(question) if not references else []
    years = {d.year for d in dates}
    if relative:  # 'the inspection before the 2025 one' is not about 2025
        years.discard(int(relative.group(3)))
    if years and chosen and not COMPARATIVE.search(question):  # 'better than in 2023?' needs both reports
        chosen = [r for r in chosen if years & report_years(r)] or chosen
        months = {(d.year, d.month) for d in dates if d.month is not None and d.year in years}
        if months:
            chosen = [r for r in chosen if months & {(d.year, d.month) for d in report_dates(r)}] or chosen
    if relative:
        kind, direction, year = relative.group(1).lower(), relative.group(2).lower(), int(relative.group(3))
        picked = relative_reports(chosen, kind, direction, year)
        if not picked:
            return Scope(filters=base.model_copy(update={"document_ids": []}), note=f"the {kind} {direction} {year}")
        return Scope(filters=base.model_copy(update={"document_ids": [r.document_id for r in picked]}))
    nth = _ORDINAL_REPORT.search(question)
    if nth and not COMPARATIVE.search(question):
        word, kind = nth.group(1).lower(), nth.group(2).lower()
        picked = nth_reports(chosen, _ORDINALS[word[0] if word[0].isdigit() else word], kind)
        if not picked:
            return Scope(filters=base.model_copy(update={"document_ids": []}), note=f"the {word} {kind}")
        chosen = picked
    chosen = which_report(question, chosen)
    if not references and not years and not nth and (asks_current_position(question) or untimed(question)):
        chosen = current_position(chosen)
    if len(chosen) == len(reports):
        return Scope(filters=base)
    return Scope(filters=base.model_copy(update={"document_ids": [r.document_id for r in chosen]}))


_WHICH_REPORT = re.compile(
    r"\b(last|latest|most recent|previous|prior|earlier|first)\s+(?:Ofsted\s+)?"
    r"(inspection|focused visit|monitoring visit|visit|letter|report)\b",
    re.I,
)


_ORDINALS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6}


# 'the third monitoring visit': the kind must be named ('a second visit' is also a social worker's home visit)
_ORDINAL_REPORT = re.compile(
    r"\b(?:the|its|their|[A-Z][a-z]+'s)\s+(second|third|fourth|fifth|sixth|[2-6](?:nd|rd|th))\s+"
    r"(inspection|focused visit|monitoring visit|monitoring letter)\b",
    re.I,
)


# 'the inspection before the 2025 one', 'the visit after the 2022 inspection'
_RELATIVE_REPORT = re.compile(
    r"\b(inspection|focused visit|monitoring visit|visit|report)\s+(before|prior to|preceding|after|following)\s+"
    r"(?:the\s+|its\s+|their\s+)?(20[0-3]\d)\b",
    re.I,
)


def _kinds(word: str) -> set[str]:
    """Return the report kinds a word names: 'visit' and 'letter' are either visit, 'report' any kind."""
    word = {"monitoring letter": "monitoring visit"}.get(word, word)
    return {"visit": {"monitoring visit", "focused visit"}, "letter": {"monitoring visit", "focused visit"}}.get(
        word, set(KINDS) if word == "report" else {word}
    )


def _per_authority(reports: list[Report], word: str) -> list[list[Report]]:
    """Return, for each authority in order of appearance, its reports of the kinds `word` names, oldest first."""
    kinds = _kinds(word)
    return [
        sorted((r for r in reports if r.local_authority == authority and r.kind in kinds), key=lambda r: r.ends)
        for authority in dict.fromkeys(r.local_authority for r in reports)
    ]


def relative_reports(reports: list[Report], kind: str, direction: str, year: int) -> list[Report]:
    """Return, per authority, its newest report of this kind from before `year`, or its oldest from after it."""
    out: list[Report] = []
    for mine in _per_authority(reports, kind):
        if direction in ("after", "following"):
            out += [r for r in mine if r.ends.year > year][:1]
        else:
            out += [r for r in mine if r.ends.year < year][-1:]
    return out


def nth_reports(reports: list[Report], n: int, kind: str) -> list[Report]:
    """Return, per authority, its n-th indexed report of this kind in date order (none where it has fewer)."""
    return [r for mine in _per_authority(reports, kind) for r in mine[n - 1 : n]]


def which_report(question: str, reports: list[Report]) -> list[Report]:
    """Return, per authority, the report 'the last inspection' or 'the previous visit' means (when one does).

    'Last', 'latest' and 'most recent' mean the newest of that kind; 'previous', 'prior' and 'earlier' the one
    before it; 'first' the oldest indexed. A comparison ('since the last inspection') keeps every report.
    """
    m = _WHICH_REPORT.search(question)
    if m is None or COMPARATIVE.search(question):
        return reports
    which, kind = m.group(1).lower(), m.group(2).lower()
    out: list[Report] = []
    for mine in _per_authority(reports, kind):
        if which == "first":
            out += mine[:1]
        elif which in ("previous", "prior", "earlier"):
            out += mine[-2:-1]
        else:
            out += mine[-1:]
    return out or reports


# 'its latest Ofsted' (no kind named): the current position, as 'still' and 'now' ask for it
_LATEST_OFSTED = re.compile(
    r"\b(?:last|latest|most recent|newest)\s+Ofsted\b(?!\s+(?:inspection|visit|report|letter|monitoring|focused))",
    re.I,
)


def asks_current_position(question: str) -> bool:
    """Return whether a question asks how things are now ('still', 'currently', 'its latest Ofsted'), with no
    comparison ('better than in 2023') and no named report or year (checked by the caller)."""
    if COMPARATIVE.search(question) or _WHICH_REPORT.search(question):
        return False
    return bool(NOW.search(question) or _LATEST_OFSTED.search(question))


# words that ask about the past without naming a report: every report stays in scope
_HISTORY = re.compile(
    r"\b(?:ever|in the past|previously|used to|over the years|over time|through the years|across the years|"
    r"track record|history|historically|back then|at the time|across (?:its|their|the) (?:inspections|reports)|"
    r"any (?:of the|of its) (?:reports|inspections|visits)|each (?:report|inspection|visit)"
    r"|every (?:report|inspection))\b",
    re.I,
)


def untimed(question: str) -> bool:
    """Return whether a question names no time, report, comparison or past ('Do care leavers get help with
    housing in Anytown?'): it asks about the current position, as inspectors' latest findings give it."""
    return not (NAMES_TIME.search(question) or COMPARATIVE.search(question) or _HISTORY.search(question))


def current_position(reports: list[Report]) -> list[Report]:
    """Return, per authority, the reports that give its current position: its newest inspection and every visit
    since (an authority with no indexed inspection keeps all its reports). The judgements of an inspection stand
    until the next one; a visit after it updates them."""
    out: list[Report] = []
    for authority in dict.fromkeys(r.local_authority for r in reports):
        mine = [r for r in reports if r.local_authority == authority]
        inspections = [r for r in mine if r.kind == "inspection"]
        if not inspections:
            out += mine
            continue
        newest = max(inspections, key=lambda r: r.ends)
        out += [r for r in mine if r is newest or r.ends > newest.ends]
    return out


def carry_authority(scope: Scope, authority: str, index: Index) -> Scope:
    """Return the scope narrowed to the conversation's authority, when it has reports in scope (else unchanged)."""
    named = find_authorities(authority)
    mine = [
        r.document_id
        for r in in_scope_reports(index, scope)
        if any(same_authority(r.local_authority, la) for la in named)
    ]
    if not mine:
        return scope
    return Scope(filters=scope.filters.model_copy(update={"document_ids": mine}), note=scope.note)


def in_scope_reports(index: Index, scope: Scope) -> list[Report]:
    """Return the reports the scope's filters allow (report level)."""
    return [index.reports[d] for d in index.allowed_documents(scope.filters)]


def latest_first(reports: list[Report]) -> list[Report]:
    return sorted(reports, key=lambda r: r.ends, reverse=True)


def question_scope(
    asked: str, index: Index, filters: Filters | None, history: list[Turn] | None
) -> tuple[Resolved, Scope]:
    """Return the question resolved against the conversation and the reports it is about (authority, report,
    filters). An empty `document_ids` in the scope's filters means no indexed report is in scope."""
    resolved = resolve_followup(asked, history or [])
    scope = resolve_scope(resolved.question, index, validate_filters(filters, index))
    if resolved.authority and scope.filters.document_ids != []:
        scope = carry_authority(scope, resolved.authority, index)
    return resolved, scope


NAMES_TIME = re.compile(
    r"\b(?:19|20)\d\d\b|\b(?:last|latest|previous|recent|earlier|first|next)\b"
    r"|monitoring (?:visit|letter)|focused visit|\binspection\b",
    re.I,
)


# 'Does the Isle of Wight still share its leadership?': the question asks for the position now, so only each
# authority's newest cited report is the answer and older ones are history, however well they score
NOW = re.compile(
    r"\b(?:still|now|currently|current|nowadays|these days|today|any ?more|at present|at the moment)\b", re.I
)
