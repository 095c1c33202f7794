"""Answering: question → scope → retrieve → rerank → compose an extractive answer → verify its citations.

No LLM: every answer sentence is either a sentence copied from a cited paragraph or a grade read from a cited
judgement table, so each one is traceable to the paragraph it came from. When the best paragraph scores below
the refusal threshold, the answer says the reports do not cover the question and lists the closest paragraphs
separately.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from api.citations import verify_citations
from api.followup import Resolved, resolve_followup
from api.judge import decide, load_judge
from api.understand import (
    asks_for_grade,
    event_dates,
    outside_remit,
    referenced_reports,
    report_references,
    reports_since,
    ungraded_only,
)
from indexer.authorities import find_authorities, same_authority
from indexer.errors import NotFoundError, QuestionError
from indexer.glossary import Term, expand_query, in_report_words, load_glossary, matched_terms
from indexer.models import (
    Answer,
    Citation,
    Hit,
    Paragraph,
    Report,
    Sentence,
    TraceStep,
    Turn,
    join_sentences,
    separate_earlier,
)
from indexer.parse import AREA_NAMES, GRADES
from indexer.settings import Settings
from indexer.store import Filters, Index, fuse, plain_words_of, tokenize
from prompts import load

if TYPE_CHECKING:
    from indexer.embed import Embedder, Reranker

_GRADE_INTENT = re.compile(
    r"\b(judge[ds]?|judgements?|judgments?|grades?|graded|rate|rated|rating|ratings|overall effectiveness"
    r"|ofsted rating|verdict|how effective(?: overall)?|effective overall)\b"
    r"|\bhow did .{0,60}\bdo\b|\bhow (?:well|badly) did\b",
    re.I,
)
_AREA_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("care_leavers", re.compile(r"care[- ]leav|leaving care|young adults? (?:who )?left care", re.I)),
    ("in_care", re.compile(r"children in care|in care\b|looked[- ]after|\bCLA\b|\bLAC\b", re.I)),
    ("help_and_protection", re.compile(r"help and protection|child protection|need help|protect", re.I)),
    ("impact_of_leaders", re.compile(r"leader|leadership|management|managers", re.I)),
    ("overall_effectiveness", re.compile(r"overall|overall effectiveness|whole service|as a whole", re.I)),
]
# words a plain grade question may use besides an area: anything else sends it to retrieval
_GRADE_VOCABULARY = set(
    tokenize(
        "ofsted grade graded grades judge judged judgement judgements judgment rate rated rating ratings overall "
        "effectiveness inspection inspected inspectors service services children council local authority latest last "
        "recent recently now currently current most get got receive received give given what which how was were social "
        "care their its 2023 2024 2025 2026 2022 2021 2019 2018 year report awarded did do well badly verdict on for "
        "in of effective according"
    )
)
_IMPROVE_INTENT = re.compile(
    r"(what (?:needs|need) to improve|needs? (?:to )?improv|areas? for improvement|improvement areas"
    r"|recommendations|priority action|what should .* improve|what must .* improve)",
    re.I,
)
_KIND_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("monitoring visit", re.compile(r"monitoring (?:visit|letter)", re.I)),
    ("focused visit", re.compile(r"focused visit", re.I)),
    ("inspection", re.compile(r"\binspection\b|\bILACS\b", re.I)),
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9'\"(])")


@dataclass
class Scope:
    filters: Filters
    note: str = ""  # why the scope is empty, when it is


def check_question(question: str, max_chars: int) -> str:
    """Return the question stripped, or raise QuestionError saying what to change."""
    q = question.strip()
    if not q:
        raise QuestionError("The question is empty. Type a question about the inspection reports.")
    if len(q) > max_chars:
        raise QuestionError(
            f"Question is {len(q):,} characters; the limit is {max_chars:,} (OFSTED_QA_API__MAX_QUESTION_CHARS). "
            "Shorten it to the point you want answered."
        )
    return q


def describe_indexed(index: Index, limit: int = 10) -> str:
    """Return what is indexed: the reports when few, else the authorities."""
    reports = sorted(index.reports.values(), key=lambda r: (r.local_authority, r.inspection_dates[:1]))
    if len(reports) <= limit:
        return "Indexed reports: " + ", ".join(
            f"{report_name(r)} ({format_dates(r.inspection_dates)})" for r in reports
        )
    names = sorted({r.local_authority for r in reports if r.local_authority})
    return f"Indexed: {len(reports)} reports on {len(names)} authorities: " + ", ".join(names)


def report_name(report: Report) -> str:
    """Return e.g. 'Peterborough inspection' for sentences and chips."""
    return f"{report.local_authority or report.document_id} {report.kind}".strip()


def format_dates(dates: list[dt.date]) -> str:
    """Return '27 November to 8 December 2023' style text."""
    if not dates:
        return "dates not printed"
    a, b = dates[0], dates[-1]
    if a == b:
        return f"{a.day} {a:%B %Y}"
    if a.year == b.year:
        return f"{a.day} {a:%B} to {b.day} {b:%B %Y}" if a.month != b.month else f"{a.day} to {b.day} {b:%B %Y}"
    return f"{a.day} {a:%B %Y} to {b.day} {b:%B %Y}"


def make_citation(index: Index, paragraph: Paragraph, score: float) -> Citation:
    """Return the citation of a paragraph, with its report's metadata and links."""
    report = index.reports[paragraph.document_id]
    pdf = report.source_path.lower().endswith(".pdf")
    return Citation(
        document_id=paragraph.document_id,
        paragraph=paragraph.label,
        section=paragraph.section,
        page=paragraph.page,
        text=paragraph.text,
        score=round(float(score), 4),
        local_authority=report.local_authority,
        kind=report.kind,
        inspection_dates=report.inspection_dates,
        title=report.title,
        url=f"/reports/{paragraph.document_id}/paragraphs/{paragraph.label}",
        pdf_url=(f"/reports/{paragraph.document_id}/pdf#page={paragraph.page or 1}" if pdf else None),
    )


def split_sentences(text: str) -> list[str]:
    """Return the sentences of a paragraph; a bullet line counts as one sentence."""
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip().removeprefix("- ").strip()
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


_COMPARATIVE = re.compile(
    r"\b(?:better|worse|than (?:in|at|before)|since|compared?|changed?|improved?|progress(?:ed)? since)\b", re.I
)


def _dates(report: Report) -> list[dt.date]:
    return [*report.inspection_dates, *([report.published] if report.published else [])]


def _years(report: Report) -> set[int]:
    return {d.year for d in _dates(report)}


KINDS = ("inspection", "monitoring visit", "focused visit")
# the title block and a report's opening paragraphs: its summary, which names most topics in a line each
SUMMARY_LABELS = frozenset({"header", "p1", "p2", "p3"})
_SUMMARY_SECTION = re.compile(r"^\s*(?:headline findings|executive summary|summary|overview|areas covered)", re.I)


def is_summary(index: Index, key: tuple[str, str]) -> bool:
    """Return whether a paragraph summarises its report rather than reporting one finding: the title block, the
    opening paragraphs, an inspection's unnumbered paragraphs (its body is numbered) and a letter's headline
    findings."""
    document_id, label = key
    if label in SUMMARY_LABELS:
        return True
    if label.startswith("p") and index.reports[document_id].kind == "inspection":
        return True
    return bool(_SUMMARY_SECTION.match(index.paragraphs[key].section))


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
            return Scope(base.model_copy(update={"document_ids": []}), note=" or ".join(la.name for la in named))
    references = report_references(question)
    if references:  # 'the 2025 focused visit' selects that report; 'since the 2019 inspection', the ones after
        picked: list[Report] = []
        for ref in references:
            found = reports_since(ref, chosen) if ref.since else referenced_reports(ref, chosen)
            if not found:
                return Scope(base.model_copy(update={"document_ids": []}), note=f"the {ref.year} {ref.kind}")
            picked += [r for r in found if r not in picked]
        chosen = picked
    elif base.kind is None and not _COMPARATIVE.search(question):
        kinds = {kind for kind, pattern in _KIND_WORDS if pattern.search(question)}
        if re.search(r"\b(visit|letter)\b", question, re.I) and not kinds & {"monitoring visit", "focused visit"}:
            kinds |= {"monitoring visit", "focused visit"}
        same = [r for r in chosen if r.kind in kinds]
        if same and len(kinds) < len(_KIND_WORDS):
            chosen = same
    relative = _RELATIVE_REPORT.search(question)
    # a date that names no report dates an event: it prefers that year's reports and never empties the scope
    years = {d.year for d in event_dates(question)} if not references else set()
    if relative:  # 'the inspection before the 2025 one' is not about 2025
        years.discard(int(relative.group(3)))
    if years and chosen and not _COMPARATIVE.search(question):  # 'better than in 2023?' needs both reports
        chosen = [r for r in chosen if years & _years(r)] or chosen
    if relative:
        kind, direction, year = relative.group(1).lower(), relative.group(2).lower(), int(relative.group(3))
        picked = relative_reports(chosen, kind, direction, year)
        if not picked:
            return Scope(base.model_copy(update={"document_ids": []}), note=f"the {kind} {direction} {year}")
        return Scope(base.model_copy(update={"document_ids": [r.document_id for r in picked]}))
    nth = _ORDINAL_REPORT.search(question)
    if nth and not _COMPARATIVE.search(question):
        word, kind = nth.group(1).lower(), nth.group(2).lower()
        picked = nth_reports(chosen, _ORDINALS[word[0] if word[0].isdigit() else word], kind)
        if not picked:
            return Scope(base.model_copy(update={"document_ids": []}), note=f"the {word} {kind}")
        chosen = picked
    chosen = which_report(question, chosen)
    if len(chosen) == len(reports):
        return Scope(base)
    return Scope(base.model_copy(update={"document_ids": [r.document_id for r in chosen]}))


_WHICH_REPORT = re.compile(
    r"\b(last|latest|most recent|previous|prior|earlier|first)\s+"
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
    if m is None or _COMPARATIVE.search(question):
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
    return Scope(scope.filters.model_copy(update={"document_ids": mine}), scope.note)


def in_scope_reports(index: Index, scope: Scope) -> list[Report]:
    """Return the reports the scope's filters allow (report level)."""
    return [index.reports[d] for d in index.allowed_documents(scope.filters)]


def cited_answer(question: str, sentences: list[Sentence], citations: list[Citation]) -> Answer:
    """Return an answer made of these sentences and citations (answerable when there is a sentence)."""
    return Answer(
        question=question,
        answer=join_sentences(sentences),
        answerable=bool(sentences),
        sentences=sentences,
        citations=citations,
    )


def _latest(reports: list[Report]) -> list[Report]:
    return sorted(reports, key=lambda r: r.ends, reverse=True)


def grade_areas(question: str) -> list[str]:
    """Return the judgement areas a question names, in table order."""
    return [area for area, pattern in _AREA_WORDS if pattern.search(question)]


def area_phrase(area: str) -> str:
    """Return a judgement area's name as it reads mid-sentence ('the experiences and progress of ...')."""
    return AREA_NAMES[area][0].lower() + AREA_NAMES[area][1:]


def grade_sentence(report: Report, area: str, grade: str) -> Sentence:
    """Return 'In the <report> (<dates>), <area> was judged <grade>.', citing the judgement table (citation 0)."""
    text = load("grade").format(
        report=report_name(report),
        dates=format_dates(report.inspection_dates),
        area=area_phrase(area),
        grade=grade.lower(),
    )
    return Sentence(text=text, citations=[0])


_EXTREME = re.compile(r"\b(lowest|worst|weakest|poorest|highest|best|strongest)\b", re.I)


def compose_grade_extreme_answer(question: str, index: Index, scope: Scope) -> Answer | None:
    """Answer 'What was Peterborough's lowest grade in 2023, and for which judgement?' from the judgement table:
    the judgement areas (overall effectiveness apart) that got the lowest or highest grade the report gave."""
    extreme = _EXTREME.search(question)
    if not extreme or not _GRADE_INTENT.search(question):
        return None
    graded = _latest([r for r in in_scope_reports(index, scope) if r.judgements])
    if not graded or len({r.local_authority for r in graded}) != 1:
        return None  # across authorities, 'the best grade' is a ranking the grade list answers
    report = graded[0]
    table = report.paragraph("judgements")
    areas = {a: g for a, g in report.judgements.items() if a != "overall_effectiveness" and g in GRADES}
    if table is None or not areas:
        return None
    rank = {grade: i for i, grade in enumerate(GRADES)}  # Outstanding first, Inadequate last
    pick = max if extreme.group(1).lower() in {"lowest", "worst", "weakest", "poorest"} else min
    target = pick(areas.values(), key=lambda g: rank[g])
    sentences = [grade_sentence(report, a, g) for a, g in areas.items() if g == target]
    return cited_answer(question, sentences, [make_citation(index, table, 1.0)])


def compose_grade_answer(question: str, index: Index, scope: Scope) -> Answer | None:
    """Return an answer read from the judgement table, or None when the question is not about grades."""
    if not _GRADE_INTENT.search(question):
        return None
    areas = grade_areas(question)
    if not areas and set(tokenize(question)) - _GRADE_VOCABULARY - {
        t for r in index.reports.values() for t in tokenize(r.local_authority)
    }:
        return None  # 'grades of its children's homes', 'judged in 2018 and why': not the judgement table
    in_scope = in_scope_reports(index, scope)
    graded = _latest([r for r in in_scope if r.judgements])
    if not graded:
        return None
    report = graded[0]
    table = report.paragraph("judgements")
    if table is None:
        return None
    wanted = [a for a in areas if a in report.judgements]
    if areas == ["overall_effectiveness"] and not wanted:
        # the framework from April 2026 grades four areas and no overall effectiveness: say so, never invent one
        text = load("no_overall").format(report=report_name(report), dates=format_dates(report.inspection_dates))
        closest = [make_citation(index, table, 1.0)]
        return Answer(question=question, answer=text, answerable=False, sentences=[], citations=[], closest=closest)
    if not wanted:
        if areas and "overall_effectiveness" not in areas:
            return None  # names an area this report did not grade: let retrieval decide
        wanted = ["overall_effectiveness"] if "overall_effectiveness" in report.judgements else []
        if not wanted or not re.search(r"overall|judged|grade|rated|rating", question, re.I):
            return None
    citation = make_citation(index, table, 1.0)
    sentences = [grade_sentence(report, a, report.judgements[a]) for a in wanted]
    return cited_answer(question, sentences, [citation])


def no_grades_answer(reports: list[Report], index: Index) -> Answer:
    """Return the answer to a grade asked of focused or monitoring visits: they give no grades (cites nothing)."""
    report = _latest(reports)[0]
    why = "visits report what inspectors found without grading it; only full inspections give judgements"
    text = load("no_grades").format(report=report_name(report), dates=format_dates(report.inspection_dates), why=why)
    opening = report.paragraph("p1") or report.paragraphs[0]
    closest = [make_citation(index, opening, 1.0)]
    return Answer(answer=text, answerable=False, sentences=[], citations=[], closest=closest)


_HISTORY_INTENT = re.compile(
    r"\b(?:changed?|since (?:19|20)\d\d|over time|history|trend|over the years|each inspection|every inspection"
    r"|all (?:the |its |their )?inspections|previous inspections|past inspections|over successive)\b",
    re.I,
)


def compose_grade_history_answer(question: str, index: Index, scope: Scope) -> Answer | None:
    """Answer 'How has Peterborough's overall effectiveness changed since 2018?' from every inspection's table."""
    if not (_GRADE_INTENT.search(question) or grade_areas(question)) or not _HISTORY_INTENT.search(question):
        return None
    graded = [r for r in in_scope_reports(index, scope) if r.judgements]
    if len({r.local_authority for r in graded}) != 1:
        return None  # one authority's history; across authorities the grade list answers
    since = [int(y) for y in re.findall(r"\bsince ((?:19|20)\d\d)\b", question, re.I)]
    chosen = [
        r for r in _latest(graded)[::-1] if not since or (r.inspection_dates or [dt.date.min])[-1].year >= since[0]
    ]
    if not chosen:
        return None
    areas = grade_areas(question) or ["overall_effectiveness"]
    citations = [make_citation(index, p, 1.0) for r in chosen if (p := r.paragraph("judgements")) is not None]
    if len(citations) != len(chosen):
        return None
    sentences = []
    template = load("grade")
    for i, report in enumerate(chosen):
        table = citations[i].text
        for area in areas:
            name = area_phrase(area)
            grade = report.judgements.get(area)
            if grade is None and area == "care_leavers" and "children in care and care leavers" in table:
                # before 2023 the framework graded children in care and care leavers together
                name, grade = (
                    "the experiences and progress of children in care and care leavers",
                    report.judgements.get("in_care"),
                )
            dates = format_dates(report.inspection_dates)
            text = (
                template.format(report=report_name(report), dates=dates, area=name, grade=grade.lower())
                if grade
                else f"The {report_name(report)} ({dates}) gave no grade for {name}."
            )
            sentences.append(Sentence(text=text, citations=[i]))
    return cited_answer(question, sentences, citations)


_WHICH_AUTHORITIES = re.compile(
    r"\b(which|what|how many|list)\b.{0,30}\b(councils?|authorities|local authorities|LAs)\b", re.I
)
_GRADE_WORDS = [
    (
        g,
        re.compile(
            rf"\b{re.escape(g.lower())}\b" if g != "Requires improvement to be good" else r"\brequir\w* improvement\b",
            re.I,
        ),
    )
    for g in GRADES
]


def compose_grade_list_answer(question: str, index: Index, scope: Scope) -> Answer | None:
    """Answer 'Which councils were judged inadequate for care leavers in 2025?' from the extracted grades."""
    if not _WHICH_AUTHORITIES.search(question):
        return None
    grade = next((g for g, pattern in _GRADE_WORDS if pattern.search(question)), None)
    if grade is None:
        return None
    areas = grade_areas(question) or ["overall_effectiveness"]
    years = {int(y) for y in re.findall(r"\b(20[0-3]\d)\b", question)}
    in_scope = in_scope_reports(index, scope)
    inspections = [r for r in in_scope if r.judgements and (not years or years & {d.year for d in r.inspection_dates})]
    matches = [r for r in _latest(inspections)[::-1] if any(r.judgements.get(a) == grade for a in areas)]
    area_text = " or ".join(area_phrase(a) for a in areas)
    when = f" in {', '.join(map(str, sorted(years)))}" if years else ""
    count = (
        f"Among the {len(inspections)} inspections indexed{when}, {len(matches)} judged "
        f"{grade.lower()} for {area_text}."
    )
    citations = [make_citation(index, p, 1.0) for r in matches if (p := r.paragraph("judgements")) is not None]
    sentences = [Sentence(text=count, citations=list(range(len(citations))))] if citations else []
    for i, r in enumerate(matches):
        sentences.append(
            Sentence(
                text=f"{report_name(r)} ({format_dates(r.inspection_dates)}): judged {grade.lower()} for {area_text}.",
                citations=[i],
            )
        )
    if not citations:  # nothing to cite: say what was counted, as a refusal to name any
        return Answer(question=question, answer=count, answerable=False, sentences=[], citations=[])
    return cited_answer(question, sentences, citations)


# words of an improvement question that name no topic: what is left ('care leavers', 'capacity') is the topic
_IMPROVE_VOCABULARY = set(
    tokenize(
        "what needs need needed to improve improved improvement improvements areas area for recommendations recommend "
        "priority priorities action actions should must report reports say says said inspection inspectors ofsted "
        "according doing done local authority council services service children social care their its them they "
        "2018 2019 2020 2021 2022 2023 2024 2025 2026 latest last recent most next"
    )
)


def compose_improve_answer(question: str, index: Index, scope: Scope) -> Answer | None:
    """Return the report's 'What needs to improve' points, or None when not asked for."""
    if not _IMPROVE_INTENT.search(question):
        return None
    in_scope = in_scope_reports(index, scope)
    topic = (
        set(tokenize(question))
        - _IMPROVE_VOCABULARY
        - {t for r in in_scope for t in tokenize(f"{r.local_authority} {r.kind}")}
    )
    for report in _latest(in_scope):
        bullets = [p for p in report.paragraphs if p.label.startswith("improve-")]
        if bullets and topic:
            # 'what needs to improve for care leavers?': the points that name the topic, or retrieval decides
            overlap = [len(topic & set(tokenize(p.text))) for p in bullets]
            if max(overlap) == 0:
                return None
            bullets = [p for p, n in zip(bullets, overlap, strict=True) if n == max(overlap)]
        if bullets:
            citations = [make_citation(index, p, 1.0) for p in bullets]
            sentences = [Sentence(text=p.text, citations=[i]) for i, p in enumerate(bullets)]
            return cited_answer(question, sentences, citations)
    return None


def rerank(question: str, hits: list[Hit], index: Index, reranker: Reranker | None, n: int) -> list[Hit]:
    """Return the first `n` fused hits reordered by the cross-encoder's probability (n = 0: fused order)."""
    if n <= 0 or reranker is None:
        return hits
    head = hits[:n]
    passages = [_passage(index, h) for h in head]
    scores = reranker.score(question, passages)
    ranked = sorted(zip(scores, head, strict=True), key=lambda x: -x[0])
    return [Hit(chunk=h.chunk, score=s, branch="reranked") for s, h in ranked]


def rerank_cascade(
    question: str, hits: list[Hit], index: Index, reranker: Reranker | None, n: int, first: int, enough_logit: float
) -> list[Hit]:
    """Return the first `n` fused hits reordered by the cross-encoder, reading the first `first` of them before the
    rest, and stopping there when the best of those already scores `enough_logit` or more.

    It trades accuracy for speed, so it is off by default (`rerank_first` 0): reading 4 of 8 first and stopping
    at a logit of 4 cut `/ask` by about 30% at p50, lost 2 of about 220 hits on the dev splits and won 1 on a
    fresh national set, but lost 6 of 57 on the national test split (README). When it does not stop, the
    ranking is exactly the full reading's (same pairs, same scores).
    """
    if reranker is None or not 0 < first < n:
        return rerank(question, hits, index, reranker, n)
    head = rerank(question, hits, index, reranker, first)
    if head and logit(head[0].score) >= enough_logit:
        return head
    rest = rerank(question, hits[first:n], index, reranker, n - first)
    return sorted(head + rest, key=lambda h: -h.score)


def _passage(index: Index, hit: Hit) -> str:
    # the chunk as embedded (report, section, text): on the dev split this put the right paragraph first
    # for 84% of questions, against 74% for the bare paragraph text
    return hit.chunk.text


def pick_sentences(question: str, paragraph: Paragraph, limit: int) -> list[str]:
    """Return up to `limit` sentences of a paragraph that share most words with the question, in text order; a
    sentence holding what the question asks for (a name, an amount, a number, a date) comes first."""
    sentences = split_sentences(paragraph.text)
    q = set(tokenize(question))
    wanted = [has for asks, has in _ANSWER_TYPES if asks.search(question)]
    scored = []
    for pos, s in enumerate(sentences):
        words = set(tokenize(s))
        overlap = len(q & words) / (len(q) ** 0.5 + 1e-9) if q else 0.0
        holds = sum(1.0 for has in wanted if has(s, question))
        scored.append((holds + overlap - 0.01 * pos, pos, s))
    best = sorted(scored, key=lambda x: -x[0])[:limit]
    return [s for _, _, s in sorted(best, key=lambda x: x[1])]


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


@dataclass(frozen=True)
class FirstStage:
    """What the first stage found for a question: its query forms, vector, both branches and their fusion."""

    reworded: str  # the question in the reports' words
    expanded: str  # the query both branches read: glossary expansions, then the reworded question
    vector: np.ndarray[Any, Any]
    dense: list[Hit]
    sparse: list[Hit]
    fused: list[Hit]  # best first: the cross-encoder reads the first rerank_candidates of these
    embed_ms: float


def first_stage(q: str, index: Index, embedder: Embedder, settings: Settings, scope: Scope) -> FirstStage:
    """Return the dense and BM25 top-k of a (resolved) question under its scope's filters, and their fusion."""
    reworded = in_report_words(q) if settings.retrieval.report_words else q
    expanded = expand_query(q) if settings.retrieval.expand_glossary else q
    if reworded != q:
        expanded = f"{expanded} [{reworded}]"
    t = time.perf_counter()
    vector = embedder.embed_query(expanded)
    embed_ms = _ms(t)
    dense, sparse = index.search_branches(expanded, vector, k=settings.retrieval.top_k, filters=scope.filters)
    fused = fuse([dense, sparse], settings.retrieval.rrf_k)
    return FirstStage(reworded, expanded, vector, dense, sparse, fused, embed_ms)


def answer_question(
    question: str,
    index: Index,
    embedder: Embedder,
    reranker: Reranker | None,
    settings: Settings,
    filters: Filters | None = None,
    history: list[Turn] | None = None,
    rerank_candidates: int | None = None,
    debug: bool = False,
) -> Answer:
    """Return the cited answer to a question, or a refusal with the closest paragraphs.

    understand and scope (question_scope) → rule answers read from a table (grades, what to improve) →
    retrieve (first_stage) → rerank → judge (one learned answer-or-refuse decision) → compose → verify.
    """
    trace: list[TraceStep] = []
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def done(answer: Answer) -> Answer:
        timings["total"] = _ms(t0)
        return answer.model_copy(update={"question": asked, "timings_ms": timings, "trace": trace if debug else None})

    asked = check_question(question, settings.api.max_question_chars)
    resolved, scope = question_scope(asked, index, filters, history)
    q = resolved.question  # the follow-up asked in context; the answer still quotes the user's own words
    trace.append(TraceStep(stage="understand", decision=f"asked as: {q}", rule="follow-up" if q != asked else ""))
    service = outside_remit(q)
    if service is not None:
        trace.append(
            TraceStep(stage="understand", decision="refuse", rule=f"outside children's social care: {service}")
        )
        return done(
            Answer(answer=load("outside_remit").format(service=service), answerable=False, sentences=[], citations=[])
        )
    if scope.filters.document_ids == []:
        trace.append(TraceStep(stage="scope", decision="no indexed report in scope", rule=scope.note))
        text = load("out_of_scope").format(what=scope.note or "the question", indexed=describe_indexed(index))
        return done(Answer(answer=text, answerable=False, sentences=[], citations=[]))
    trace.append(TraceStep(stage="scope", decision=scope.filters.model_dump_json(exclude_none=True)))
    in_scope = in_scope_reports(index, scope)
    if asks_for_grade(q) and ungraded_only(in_scope):
        trace.append(TraceStep(stage="understand", decision="no grades", rule="a grade asked of an ungraded kind"))
        return done(no_grades_answer(in_scope, index))
    if settings.answer.term_rules:
        unknown = unknown_acronyms(asked, index) or unknown_names(q, index, scope) or unmentioned_terms(q, index, scope)
        if unknown:
            trace.append(TraceStep(stage="judge", decision="refuse", rule=f"names nothing indexed: {unknown[:3]}"))
            return done(refusal(asked, [], index, settings))
    direct = (
        compose_grade_list_answer(q, index, scope)
        or compose_grade_history_answer(q, index, scope)
        or compose_grade_extreme_answer(q, index, scope)
        or compose_grade_answer(q, index, scope)
        or compose_improve_answer(q, index, scope)
    )
    if direct is not None:
        trace.append(TraceStep(stage="compose", decision="read from a table", rule="grade or improvement question"))
        checked = verify_citations(direct, index, {(c.document_id, c.paragraph) for c in direct.citations})
        return done(checked)

    t = time.perf_counter()
    stage = first_stage(q, index, embedder, settings, scope)
    timings["embed"] = stage.embed_ms
    n = settings.retrieval.rerank_candidates if rerank_candidates is None else rerank_candidates
    carried: list[Hit] = []
    if n > 0 and reranker is not None:  # extra candidates are for the cross-encoder to judge, never unjudged
        carried = carried_hits(resolved.carried, index, scope.filters, stage.fused)
        carried += latest_report_hits(q, stage.expanded, stage.vector, stage.fused, index, scope, settings, carried)
    timings["retrieve"] = _ms(t) - stage.embed_ms
    trace.append(
        TraceStep(
            stage="retrieve",
            decision=f"{len(stage.fused)} fused candidates, {n + len(carried)} to rerank",
            scores={f"{h.chunk.document_id}#{h.chunk.paragraph}": round(h.score, 4) for h in stage.fused[:5]},
        )
    )
    t = time.perf_counter()
    judge_file = reranker.judge_path() if reranker is not None else None
    # the fine-tuned cross-encoder learnt everyday words: it reads the question as asked
    reworded = None if judge_file is not None else stage.reworded
    first = rerank_query(q, stage.expanded, settings.retrieval.rerank_expanded, reworded)
    ranked = rerank_cascade(
        first,
        carried + stage.fused,
        index,
        reranker,
        n + len(carried),
        settings.retrieval.rerank_first + len(carried) if settings.retrieval.rerank_first else 0,
        settings.retrieval.rerank_enough_logit,
    )
    timings["rerank"] = _ms(t)
    reranked = n > 0 and reranker is not None
    if reranked and ranked:
        logits = [logit(h.score) for h in ranked if h.branch == "reranked"]
        if judge_file is not None:
            verdict = decide(load_judge(judge_file), logits, settings.answer.judge_threshold)
            passed, why = verdict.answer, "learned judge"
            scores = {"probability": verdict.probability, "threshold": verdict.threshold, **verdict.features}
        else:
            passed, why = ranked[0].score >= settings.answer.min_paragraph_score, "stock cross-encoder threshold"
            scores = {"top_logit": round(max(logits, default=-20.0), 3)}
        trace.append(TraceStep(stage="judge", decision="answer" if passed else "refuse", rule=why, scores=scores))
        if not passed:
            return done(refusal(q, ranked, index, settings))
    retrieved = {h.chunk.key for h in ranked}
    answer = compose_answer(q, ranked, index, settings, reranked=reranked)
    trace.append(
        TraceStep(
            stage="compose",
            decision="cited " + ", ".join(f"{c.document_id}#{c.paragraph}" for c in answer.citations) or "nothing",
            rule="" if answer.answerable else "the answer type asked for is missing",
        )
    )
    answer = separate_earlier(verify_citations(answer, index, retrieved))
    if answer.answerable and not answer.sentences:
        trace.append(TraceStep(stage="verify", decision="refuse", rule="no citation survived verification"))
        answer = refusal(q, ranked, index, settings)
    else:
        trace.append(TraceStep(stage="verify", decision=f"{len(answer.citations)} citations verified"))
    return done(answer)


# 'What did inspectors say about X?': the frame names who wrote every paragraph, not the topic, and the
# cross-encoder rewards paragraphs that mention inspectors ('Inspectors looked at...') for it
_FRAME = re.compile(
    r"^\s*(?:what|how)\s+(?:did|do|does|have|has)\s+(?:the\s+)?(?:inspectors?|ofsted|inspection|report|letter)"
    r"\s+(?:say|said|find|found|report|reported|comment|conclude|write|note)(?:\s+(?:about|on|regarding))?\s+",
    re.I,
)


def without_frame(question: str) -> str:
    """Return the question without a leading 'What did inspectors say about' (unchanged when it has none)."""
    rest = _FRAME.sub("", question)
    return f"What about {rest}" if rest != question and rest else question


def rerank_query(question: str, expanded: str, mode: str, reworded: str | None = None) -> str:
    """Return what the cross-encoder reads: the expansion helps with acronyms it has never seen ('EDT'), and
    hurts everyday paraphrases ('kids'), so by default only questions using a glossary acronym get it. Other
    questions are read `reworded` in the reports' words when given: the cross-encoder scores 'Are children
    in private fostering arrangements identified?' far above the same question about 'a family friend under a
    private arrangement'."""
    if mode == "always" or (mode == "acronyms" and any(t.term in question for t in acronym_terms(question))):
        return without_frame(expanded)
    return without_frame(reworded or question)


def acronym_terms(question: str) -> list[Term]:
    """Return the glossary entries whose acronym the question uses as written."""
    return [
        t for t in matched_terms(question) if re.search(rf"\b{re.escape(t.term)}s?\b", question) and t.term.isupper()
    ]


def latest_report_hits(
    question: str,
    query: str,
    vector: np.ndarray[Any, Any],
    fused: list[Hit],
    index: Index,
    scope: Scope,
    settings: Settings,
    already: list[Hit],
) -> list[Hit]:
    """Return the best paragraph of the latest report of the authority the top hits are about, when it is not
    among the candidates, so a question naming no date can be answered from the current position."""
    if _NAMES_TIME.search(question) or _COMPARATIVE.search(question) or not fused:
        return []
    authority = index.reports[fused[0].chunk.document_id].local_authority
    same = [r for r in in_scope_reports(index, scope) if r.local_authority == authority]
    if len(same) < 2:
        return []
    newest = max(same, key=lambda r: r.ends).document_id
    head = fused[: settings.retrieval.rerank_candidates] + already
    if any(h.chunk.document_id == newest for h in head):
        return []
    own = index.search(query, vector, k=5, rrf_k=settings.retrieval.rrf_k, filters=Filters(document_ids=[newest]))
    return [own[0].model_copy(update={"branch": "history"})] if own else []


def carried_hits(refs: list[tuple[str, str]], index: Index, filters: Filters, fused: list[Hit]) -> list[Hit]:
    """Return the previous answer's cited paragraphs as candidates, when the filters allow them and not yet found."""
    if not refs:
        return []
    allowed = set(index.allowed_documents(filters))
    have = {h.chunk.key for h in fused}
    out = []
    for doc, label in refs:
        doc = index.aliases.get(doc, doc)
        if doc not in allowed or (doc, label) in have:
            continue
        chunk = index.chunk_of(doc, label)
        if chunk is not None:
            out.append(Hit(chunk=chunk, score=0.0, branch="history"))
            have.add((doc, label))
    return out


def logit(p: float) -> float:
    """Return the logit of a probability (the cross-encoder's raw score)."""
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


_PERSON = re.compile(r"(?<![.!?] )(?<!^)\b[A-Z][a-z]+ (?:[A-Z]\. )?[A-Z][a-z]+\b")
_NOT_NAMES = re.compile(
    r"Council|Service|Team|Forum|Agency|Children|Education|Department|Court|Family|Care|Board|Office|Inspector"
    r"|Authority|Peterborough|Cambridge|Safeguarding|Support|Multi|Integrated|Independent|Local|Advisory|His|Majesty",
)
_NUMBERISH = re.compile(
    # a count or a share, not a year or an age ('16- and 17-year-olds', 'aged 18')
    r"\b(?<!aged )(?<!age )(?!(?:19|20)\d\d\b)\d+(?:\.\d+)?%?(?![\d.])(?!-? ?(?:and \d+-)?years?[- ]olds?)"
    r"|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|half|third"
    r"|quarter|dozen)\b",
    re.I,
)
_DATEISH = re.compile(
    r"\b(19|20)\d\d\b|\b(January|February|March|April|May|June|July|August|September|October"
    r"|November|December)\b"
)
_DURATION = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|ten|twelve|twenty|thirty)\s+(?:working\s+)?"
    r"(?:days?|weeks?|months?|hours?|years?)\b|\bwithin (?:a|one|the same) (?:day|week|month)\b|\bsame day\b",
    re.I,
)
# (what the question asks for, what a paragraph must contain to answer it, given the question)
_MONEY = re.compile(r"£\s?\d|\b\d[\d,.]*\s?(?:pounds|million|billion|m|k)\b", re.I)
_ROLE = (
    r"(?:scrutineer|chair|chairs|director|inspector|member|manager|officer|head|leader|lead|councillor|person"
    r"|mayor|commissioner|advocate|worker)"
)
_QUOTED = re.compile(r"['\u2018\"\u201c]([A-Z][^'\u2019\"\u201d]{1,40})['\u2019\"\u201d]")
_CAPITALISED = re.compile(r"(?<![.!?:] )(?<!^)\b[A-Z][a-z]+\b")


def _has_person(text: str, question: str) -> bool:
    return any(not _NOT_NAMES.search(m.group(0)) for m in _PERSON.finditer(text))


def _has_proper_name(text: str, question: str) -> bool:
    """A person's name, a quoted name ('Be Safe Team') or a capitalised word the question does not use
    ('The Children in Care Council, Kickback, ...')."""
    if _has_person(text, question) or _QUOTED.search(text):
        return True
    asked = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
    return any(
        m.group(0).lower() not in asked and not _NOT_NAMES.search(m.group(0)) and m.group(0) not in _NOT_A_NAME
        for m in _CAPITALISED.finditer(text)
    )


_ANSWER_TYPES: list[tuple[re.Pattern[str], Callable[[str, str], bool]]] = [
    (  # an amount of money: 'up to age 25' is a number, not what the birthday payment is worth
        re.compile(
            r"\bhow much (?:\w+ )?(?:money|funding|investment|spending|cash)\b"
            r"|\bhow much (?:is|are|do|does|did|was|were|has|have|had)\b.*"
            r"\b(?:payments?|allowances?|grants?|funds?|funding|budgets?|costs?|money|pay|paid|worth|bursar(?:y|ies)"
            r"|fees?|investment|invested|spen[dt]|put into|given|raised)\b",
            re.I,
        ),
        lambda t, q: bool(_MONEY.search(t)),
    ),
    (
        re.compile(
            r"\b(how many|what percentage|what proportion|what number|how much (?:money|funding)"
            r"|what is the number|how much does|how much is)\b",
            re.I,
        ),
        lambda t, q: bool(_NUMBERISH.search(t)),
    ),
    (  # a person: 'Who is Merton's independent scrutineer?', 'the name of the chair'
        re.compile(
            rf"\bname of (?:the |their |its |[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*'s )?(?:[\w-]+ ){{0,3}}{_ROLE}\b"
            r"|\bwho (?:is|was|were) the\b|\bwho (?:led|leads|chairs)\b"
            r"|\bwho (?:is|was) (?:[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*|the local authority|the council)'s\b",
            re.I,
        ),
        _has_person,
    ),
    (  # the name of a thing: 'What is the children in care council called?', 'the name of the new hub'
        re.compile(
            r"\bname of\b|\bwhat is .* called\b|\bwhat (?:do|does) .* call\b"
            r"|\bwhich (?:\w+ )?(?:council|authority|charity|company|provider|organisation|organization)\b",
            re.I,
        ),
        _has_proper_name,
    ),
    (  # a duration: 'What timescale does it set for pathway plans?' is not answered by 'plans are updated'
        re.compile(
            r"\bwhat (?:is the )?timescales?\b|\bhow many (?:working )?(?:days|weeks|months|hours)\b"
            r"|\bhow long (?:does|do|did|will|should) .*\btake\b",
            re.I,
        ),
        lambda t, q: bool(_DURATION.search(t)),
    ),
    (
        re.compile(
            r"\bwhen (?:did|was|were|will|is|does)\b.*\b(next|first|last|start|end|establish|begin|happen"
            r"|take place|introduc|appoint)|\bwhat date\b|\bwhich year\b|\bwhat year\b",
            re.I,
        ),
        lambda t, q: bool(_DATEISH.search(t)),
    ),
]


def answer_type_missing(question: str, sentences: list[str]) -> bool:
    """Return whether the question asks for a number, name or date that none of the answer sentences holds."""
    text = " ".join(sentences)
    return any(asks.search(question) and not has(text, question) for asks, has in _ANSWER_TYPES)


_ACRONYM = re.compile(r"\b[A-Z](?:[A-Z0-9]|&[A-Z]){1,6}s?\b")


@cache
def glossary_words() -> frozenset[str]:
    """Return every term and synonym in the glossary, lower-cased ('S47' is 's47'; built once, not per question)."""
    return frozenset(
        {t.term.lower() for t in load_glossary()} | {s.lower() for t in load_glossary() for s in t.synonyms}
    )


def unknown_acronyms(question: str, index: Index) -> list[str]:
    """Return acronyms in the question that neither the indexed reports nor the glossary know ('GCSE', 'NHS').

    The reports cannot answer a question about something they never name; the glossary maps the acronyms
    they name in full (LADO → allegations against adults) so those still count as known.
    """
    known = glossary_words()
    out = []
    for m in _ACRONYM.finditer(question):
        word = m.group(0).rstrip("s") if m.group(0).endswith("s") and len(m.group(0)) > 2 else m.group(0)
        if word.lower() in known or word in {"I", "OK"} or len(word) < 2:
            continue
        if not index.contains_word(word):
            out.append(word)
    return out


_NAME_WORD = re.compile(r"(?<![.?!:]\s)(?<!^)(?<!&)\b(?:[A-Z][a-z]+(?:-[A-Z][a-z]+)*|[A-Z][A-Z0-9]{1,6})\b")
_NOT_A_NAME = frozenset(
    "January February March April May June July August September October November December Monday Tuesday "
    "Wednesday Thursday Friday Saturday Sunday Ofsted England English UK I OK".split()
)  # 'OK' as in 'without mum and dad's OK': a word, not a service's name (unknown_acronyms skips it too)


def unknown_names(question: str, index: Index, scope: Scope) -> list[str]:
    """Return the names in a question ('the Aspire team', 'WAVE') that no report in scope uses.

    A question about Walsall's Aspire team cannot be answered from Walsall's reports if they never name it,
    however close their paragraphs on exploitation are; the same name in another authority's report does not
    count. A name is a capitalised word after the first or an acronym; authority names, months and glossary
    terms are not names. Names match the reports' words case-insensitively ('Aspire' is also 'aspire').
    """
    authorities = {w for la in find_authorities(question) for n in (la.name, *la.aliases) for w in n.split()}
    candidates = [
        m.group(0)
        for m in _NAME_WORD.finditer(question)
        if m.group(0) not in _NOT_A_NAME
        and m.group(0) not in authorities
        and m.group(0).lower() not in glossary_words()
    ]
    if not candidates:
        return []
    words = {w.lower() for w in index.words_of(index.allowed_documents(scope.filters))}
    return [c for c in candidates if not all(part.lower() in words for part in c.split("-"))]


def unmentioned_terms(question: str, index: Index, scope: Scope, limit: int = 40) -> list[str]:
    """Return the named programmes, services and topics a question names as written ('the virtual school', 'Staying
    Close', 'young carers') that no report in scope names in any of their forms (the term, its expansion or a
    synonym). A report that never names the scheme cannot say how it is doing, however near its paragraphs are.
    Only checked for a scope of at most `limit` reports (an authority, a year): across the corpus, every term is
    named somewhere. General concepts ('kinship care') are not checked: a report may describe them in its own words
    ('extended families')."""
    documents = index.allowed_documents(scope.filters)
    if len(documents) > limit:
        return []
    asked = plain_words_of(question)
    terms = [t for t in load_glossary() if t.named and any(plain_words_of(f) in asked for f in _asked_forms(t))]
    if not terms:
        return []
    return [t.term for t in terms if not any(index.mentions(f, documents) for f in (t.term, t.expansion, *t.synonyms))]


def _asked_forms(term: Term) -> list[str]:
    """Return the forms of a term that, written in a question, name it: the term, its expansion and its synonyms
    of two words or more ('privately fostered'; a one-word synonym such as 'mentor' is too loose)."""
    return [term.term, term.expansion, *(s for s in term.synonyms if len(plain_words_of(s).split()) >= 2)]


def _explicit_reports(question: str) -> int:
    kinds = sum(1 for _, pattern in _KIND_WORDS if pattern.search(question))
    years = len(set(re.findall(r"\b20[0-3]\d\b", question)))
    both = re.search(
        r"\b(both|compare|compared|between|changed|improved|since|over time|progress since)\b", question, re.I
    )
    return max(kinds, years, 2 if both else 1)


def compose_answer(question: str, ranked: list[Hit], index: Index, settings: Settings, reranked: bool) -> Answer:
    """Return an extractive answer from the top reranked paragraphs, or a refusal when none is good enough.

    Paragraphs are cited when their cross-encoder logit is within `cite_margin_logit` of the best one; a
    question spanning reports ('compare', two years or kinds) also cites the best paragraph of each report.
    """
    cfg = settings.answer
    if not ranked:
        return refusal(question, ranked, index, settings)
    if reranked:
        # whether to answer at all was judged before; here: which paragraphs to cite

        def weight(hit: Hit) -> float:  # a summary paragraph touches every topic: a specific one nearly as good wins
            return logit(hit.score) - (cfg.summary_penalty_logit if is_summary(index, hit.chunk.key) else 0.0)

        order = sorted(ranked, key=lambda h: -weight(h))
        best = weight(order[0])
        chosen = [order[0]] + [
            h for h in order[1:] if weight(h) >= best - cfg.cite_margin_logit and h.score >= cfg.min_paragraph_score
        ]
        if _explicit_reports(question) > 1:
            for hit in ranked:
                if (
                    hit.chunk.document_id not in {h.chunk.document_id for h in chosen}
                    and hit.score >= cfg.min_paragraph_score
                ):
                    chosen.append(hit)
    else:
        chosen = ranked[:1]
    chosen = chosen[: cfg.max_paragraphs]
    if reranked:
        chosen = with_current_position(question, chosen, ranked, index, cfg.min_paragraph_score, cfg.max_paragraphs)
    earlier = earlier_reports(question, chosen, index)
    chosen = [h for h in chosen if h.chunk.document_id not in earlier] + [
        h for h in chosen if h.chunk.document_id in earlier
    ]
    paragraphs = [index.paragraphs[h.chunk.key] for h in chosen]
    citations: list[Citation] = []
    sentences: list[Sentence] = []
    for rank, (hit, paragraph) in enumerate(zip(chosen, paragraphs, strict=True)):
        picked = pick_sentences(question, paragraph, 2 if rank == 0 else 1)
        if not picked:
            continue
        citations.append(make_citation(index, paragraph, hit.score))
        for s in picked:
            if len(sentences) < cfg.max_sentences:
                sentences.append(
                    Sentence(text=s, citations=[len(citations) - 1], earlier=hit.chunk.document_id in earlier)
                )
    if answer_type_missing(question, [s.text for s in sentences]):
        return refusal(question, ranked, index, settings)
    return cited_answer(question, sentences, citations)


_NAMES_TIME = re.compile(
    r"\b(?:19|20)\d\d\b|\b(?:last|latest|previous|recent|earlier|first|next)\b"
    r"|monitoring (?:visit|letter)|focused visit|\binspection\b",
    re.I,
)
# 'Does the Isle of Wight still share its leadership?': the question asks for the position now, so only each
# authority's newest cited report is the answer and older ones are history, however well they score
_NOW = re.compile(
    r"\b(?:still|now|currently|current|nowadays|these days|today|any ?more|at present|at the moment)\b", re.I
)


def with_current_position(
    question: str, chosen: list[Hit], ranked: list[Hit], index: Index, floor: float, limit: int
) -> list[Hit]:
    """Return the chosen paragraphs plus, when the question names no time, the best passing paragraph of the
    latest report of each cited authority, if that report is not cited yet (it leads: it is the current position)."""
    if _NAMES_TIME.search(question) or _COMPARATIVE.search(question):
        return chosen
    out = list(chosen)
    for authority in dict.fromkeys(index.reports[h.chunk.document_id].local_authority for h in chosen):
        passing = [
            h for h in ranked if h.score >= floor and index.reports[h.chunk.document_id].local_authority == authority
        ]
        newest = max((index.reports[h.chunk.document_id] for h in passing), key=lambda r: r.ends).document_id
        if newest not in {h.chunk.document_id for h in out}:
            best = next(h for h in passing if h.chunk.document_id == newest)
            out = [best, *out][: max(limit, 2)]
    return out


def earlier_reports(question: str, chosen: list[Hit], index: Index) -> set[str]:
    """Return the cited reports that are history, not the current position, when the question names no time.

    An inspection gives the authority's judgements until the next one; a monitoring or focused visit after it
    updates them where it speaks to the question. So an older cited report is history when a newer cited
    inspection exists, or when a newer cited report speaks to the question at least as well (its best
    paragraph scores as high). An inspection that answers better than a later visit on another subject stays
    the current position, unless the question asks how things are now ('still', 'currently').
    """
    if _NAMES_TIME.search(question) or _COMPARATIVE.search(question):
        return set()
    best: dict[str, float] = {}
    for hit in chosen:
        best[hit.chunk.document_id] = max(best.get(hit.chunk.document_id, 0.0), hit.score)
    cited = [index.reports[doc] for doc in best]
    now = bool(_NOW.search(question))  # asked how things are now: any newer cited report supersedes
    earlier: set[str] = set()
    for report in cited:
        newer = [r for r in cited if r.local_authority == report.local_authority and r.ends > report.ends]
        if newer and (
            now or any(r.kind == "inspection" or best[r.document_id] >= best[report.document_id] for r in newer)
        ):
            earlier.add(report.document_id)
    return earlier


def refusal(question: str, ranked: list[Hit], index: Index, settings: Settings) -> Answer:
    """Return the 'reports do not cover this' answer, with the closest paragraphs listed apart."""
    closest = [make_citation(index, index.paragraphs[h.chunk.key], h.score) for h in ranked[: settings.answer.closest]]
    return Answer(
        question=question, answer=load("refusal"), answerable=False, sentences=[], citations=[], closest=closest
    )


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)
