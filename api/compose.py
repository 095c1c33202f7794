"""Compose: extractive answers from the chosen paragraphs, answers read from a table (grades, what to improve),
and the refusal; every sentence is copied from the paragraph it cites."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from api.judge import logit
from api.names import NOT_A_NAME
from api.scope import COMPARATIVE, KIND_WORDS, NAMES_TIME, NOW
from indexer.models import (
    Answer,
    Citation,
    Hit,
    Paragraph,
    Report,
    Sentence,
    join_sentences,
)
from indexer.settings import Settings
from indexer.store import Index, tokenize
from prompts import load

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9'\"(])")


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
        out.extend(s.strip() for s in SENTENCE_END.split(line) if s.strip())
    return out


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


_ASKS_TO_IMPROVE = re.compile(r"\bimprov|\brecommend|\bpriorit|\bneeds? to\b|\bshould\b|\bmust\b", re.I)


def is_recommendation(question: str, key: tuple[str, str]) -> bool:
    """Return whether a paragraph is a 'what needs to improve' point (or a priority action) and the question does
    not ask what should improve: the point names a topic in a line; the finding behind it says what was found."""
    return key[1].startswith(("improve-", "priority-")) and not _ASKS_TO_IMPROVE.search(question)


def cited_answer(question: str, sentences: list[Sentence], citations: list[Citation]) -> Answer:
    """Return an answer made of these sentences and citations (answerable when there is a sentence)."""
    return Answer(
        question=question,
        answer=join_sentences(sentences),
        answerable=bool(sentences),
        sentences=sentences,
        citations=citations,
    )


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
    r"|mayor|commissioner|advocate|worker|DCS|chief executive)"
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
        m.group(0).lower() not in asked and not _NOT_NAMES.search(m.group(0)) and m.group(0) not in NOT_A_NAME
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
            r"\bname of\b|\bwhat(?: is|'s|\u2019s|s) .* called\b|\bwhat (?:do|does) .* call\b"
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


def _explicit_reports(question: str) -> int:
    kinds = sum(1 for _, pattern in KIND_WORDS if pattern.search(question))
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
            general = is_summary(index, hit.chunk.key) or is_recommendation(question, hit.chunk.key)
            return logit(hit.score) - (cfg.summary_penalty_logit if general else 0.0)

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


def with_current_position(
    question: str, chosen: list[Hit], ranked: list[Hit], index: Index, floor: float, limit: int
) -> list[Hit]:
    """Return the chosen paragraphs plus, when the question names no time, the best passing paragraph of the
    latest report of each cited authority, if that report is not cited yet (it leads: it is the current position)."""
    if NAMES_TIME.search(question) or COMPARATIVE.search(question):
        return chosen
    out = list(chosen)
    for authority in dict.fromkeys(index.reports[h.chunk.document_id].local_authority for h in chosen):
        passing = [
            h
            for h in ranked
            if (h.score >= floor or h in chosen) and index.reports[h.chunk.document_id].local_authority == authority
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
    if NAMES_TIME.search(question) or COMPARATIVE.search(question):
        return set()
    best: dict[str, float] = {}
    for hit in chosen:
        best[hit.chunk.document_id] = max(best.get(hit.chunk.document_id, 0.0), hit.score)
    cited = [index.reports[doc] for doc in best]
    now = bool(NOW.search(question))  # asked how things are now: any newer cited report supersedes
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
