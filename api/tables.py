"""Compose from tables: answers read from a judgement table (grades, their history, extremes, lists across
authorities) and from the "What needs to improve" list, each citing the table it read."""

from __future__ import annotations

import datetime as dt
import re

from api.compose import cited_answer, format_dates, make_citation, report_name
from api.scope import Scope, in_scope_reports, latest_first
from api.understand import about_grades
from indexer.models import (
    Answer,
    Report,
    Sentence,
)
from indexer.parse import AREA_NAMES, GRADES
from indexer.store import Index, tokenize
from prompts import load

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
    if not extreme or not about_grades(question):
        return None
    graded = latest_first([r for r in in_scope_reports(index, scope) if r.judgements])
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
    if not about_grades(question):
        return None
    areas = grade_areas(question)
    if not areas and set(tokenize(question)) - _GRADE_VOCABULARY - {
        t for r in index.reports.values() for t in tokenize(r.local_authority)
    }:
        return None  # 'grades of its children's homes', 'judged in 2018 and why': not the judgement table
    in_scope = in_scope_reports(index, scope)
    graded = latest_first([r for r in in_scope if r.judgements])
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
    report = latest_first(reports)[0]
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
    # an area named without a grade word ('Have children in care changed anything?') is not about the table
    if not about_grades(question) or not _HISTORY_INTENT.search(question):
        return None
    graded = [r for r in in_scope_reports(index, scope) if r.judgements]
    if len({r.local_authority for r in graded}) != 1:
        return None  # one authority's history; across authorities the grade list answers
    since = [int(y) for y in re.findall(r"\bsince ((?:19|20)\d\d)\b", question, re.I)]
    chosen = [
        r for r in latest_first(graded)[::-1] if not since or (r.inspection_dates or [dt.date.min])[-1].year >= since[0]
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
    matches = [r for r in latest_first(inspections)[::-1] if any(r.judgements.get(a) == grade for a in areas)]
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
        "identify identified identifies find found finds highlight highlighted list listed give gave given set out "
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
    for report in latest_first(in_scope):
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
