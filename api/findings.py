"""Findings: every paragraph that speaks about a topic, grouped by authority and report, oldest first.

Relevance of a paragraph to a topic (documented in README, measured by `ofsted-qa eval findings`):

    relevance = cosine(topic, paragraph) + lexical_weight * lexical

- `cosine`: bge-small similarity of the topic (with its glossary expansions) to the paragraph as embedded.
- `lexical`: 0 when no sentence names the topic (its words, or a glossary synonym: 'front door' for MASH);
  otherwise 0.5 + 0.5 * the share of the paragraph's sentences that name it, + 0.25 when the first sentence
  does. A paragraph about the topic names it early and often; one that mentions it in passing scores 0.5 plus
  a small share, so it ranks below.

A paragraph is returned when its relevance reaches `min_relevance`. No LLM and no cross-encoder: scoring every
paragraph of the national index takes one matrix product and one regular expression.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from api.answer import check_question
from api.compose import format_dates, make_citation, report_name, split_sentences
from api.scope import validate_filters
from indexer.authorities import LocalAuthority, find_authorities, load_authorities, same_authority
from indexer.errors import QuestionError
from indexer.glossary import matched_terms
from indexer.models import (
    AuthorityFindings,
    Findings,
    GradeRecord,
    Paragraph,
    Report,
    ReportFindings,
)
from indexer.parse import AREA_NAMES
from indexer.settings import FindingsSettings
from indexer.store import Filters, Index

if TYPE_CHECKING:
    from indexer.embed import Embedder, Reranker

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "Source: Ofsted inspection reports (https://reports.ofsted.gov.uk)."
)
_NOT_FINDINGS = {"header", "judgements"}


class FindingsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, description="What to look for: 'MASH', 'emergency duty team'…")
    local_authority: str | None = Field(default=None, description="Only this authority (name or alias).")
    kind: str | None = Field(default=None, description="inspection, monitoring visit or focused visit.")
    since: dt.date | None = Field(default=None, description="Reports whose inspection ended on or after.")
    until: dt.date | None = Field(default=None, description="Reports whose inspection started on or before.")
    compare_with: Literal["statistical_neighbours", "region"] | None = Field(
        default=None, description="Also the authority's statistical neighbours or regional peers."
    )


# ------------------------------------------------------------------ the topic


def topic_terms(topic: str, expand: bool = True) -> list[str]:
    """Return the topic and (when expanding) the glossary's term, expansion and synonyms for each entry it names."""
    terms = [topic.strip()]
    for entry in matched_terms(topic) if expand else ():
        for phrase in (entry.term, entry.expansion, *entry.synonyms):
            if phrase.lower() not in {t.lower() for t in terms}:
                terms.append(phrase)
    return terms


def _phrase_regex(phrase: str) -> str | None:
    words = re.findall(r"[A-Za-z0-9]+", phrase)
    if not words:
        return None
    # plurals and possessives: 'care leavers' matches "care leaver's" and 'care leaver'
    parts = [re.escape(w) + r"(?:s|es|'s|s'|\u2019s|s\u2019)?" for w in words]
    return r"\b" + r"[\s\-\u2019']+(?:s\s+)?".join(parts) + r"\b"


@dataclass(frozen=True)
class TopicMatcher:
    """Finds where a sentence names the topic: acronyms by case, other phrases in any case."""

    acronyms: re.Pattern[str] | None
    phrases: re.Pattern[str] | None

    @classmethod
    def of(cls, terms: list[str]) -> TopicMatcher:
        acr = [t for t in terms if re.fullmatch(r"[A-Z][A-Z0-9&/]{1,7}s?", t)]
        words = [r for t in terms if t not in acr and (r := _phrase_regex(t))]
        return cls(
            acronyms=re.compile(r"\b(?:" + "|".join(re.escape(a) for a in acr) + r")s?\b") if acr else None,
            phrases=re.compile("|".join(words), re.I) if words else None,
        )

    def names(self, text: str) -> bool:
        """Return whether the text names the topic."""
        return bool(
            (self.acronyms is not None and self.acronyms.search(text))
            or (self.phrases is not None and self.phrases.search(text))
        )


def lexical_score(text: str, matcher: TopicMatcher) -> float:
    """Return 0 when no sentence names the topic, else 0.5 + half the share naming it (+0.25 if the first does)."""
    if not matcher.names(text):
        return 0.0
    sentences = split_sentences(text) or [text]
    named = [matcher.names(s) for s in sentences]
    return 0.5 + 0.5 * sum(named) / len(sentences) + (0.25 if named[0] else 0.0)


def summary_sentence(paragraph: Paragraph, matcher: TopicMatcher) -> str:
    """Return the paragraph's first sentence naming the topic, or its first sentence."""
    sentences = split_sentences(paragraph.text) or [paragraph.text]
    return next((s for s in sentences if matcher.names(s)), sentences[0])


# ------------------------------------------------------------------ scoring


def first_stage(
    index: Index,
    documents: list[str],
    topic_vector: np.ndarray[Any, Any],
    matcher: TopicMatcher,
    weight: float,
    floor: float,
    best: int = 0,
    limit: int = 3000,
) -> dict[tuple[str, str], float]:
    """Return cosine + weight * lexical for the paragraphs of these reports (header and grade table excluded)
    that can reach `floor`, or, with `best`, that can be among the best `best`; at most the `limit` closest."""
    wanted = set(documents)
    rows = [i for i, c in enumerate(index.chunks) if c.document_id in wanted and c.paragraph not in _NOT_FINDINGS]
    if not rows:
        return {}
    cosines = index.vectors[rows] @ topic_vector.astype(np.float32)
    if best:  # a paragraph whose cosine is below the best-th cosine minus the largest lexical bonus cannot compete
        floor = float(np.sort(cosines)[::-1][min(best, len(cosines)) - 1])
    # naming the topic adds at most 1.25 * weight: paragraphs further below the floor cannot reach it
    keep = cosines >= floor - 1.25 * weight
    if keep.sum() > limit:  # a broad topic over every authority: score the `limit` closest, not thousands
        keep &= cosines >= np.sort(cosines)[-limit]
    rows, cosines = [r for r, k in zip(rows, keep.tolist(), strict=True) if k], cosines[keep]
    dense: dict[tuple[str, str], float] = {}
    for row, cos in zip(rows, cosines.tolist(), strict=True):
        key = (index.chunks[row].document_id, index.chunks[row].paragraph)
        dense[key] = max(dense.get(key, -1.0), cos)
    return {key: cos + weight * lexical_score(index.paragraphs[key].text, matcher) for key, cos in dense.items()}


def score_paragraphs(
    index: Index,
    documents: list[str],
    topic: str,
    topic_vector: np.ndarray[Any, Any],
    matcher: TopicMatcher,
    cfg: FindingsSettings,
    reranker: Reranker | None,
) -> dict[tuple[str, str], float]:
    """Return the relevant paragraphs of these reports with their relevance.

    With a reranker, the cross-encoder judges the `rerank_candidates` best first-stage paragraphs and keeps those
    at `min_rerank` or above when they name the topic, `min_rerank_unnamed` when they do not (relevance = its
    probability); without one, paragraphs at `min_relevance` or above
    are kept (relevance = the first-stage score).
    """
    if reranker is None or cfg.rerank_candidates == 0:
        first = first_stage(index, documents, topic_vector, matcher, cfg.lexical_weight, cfg.min_relevance)
        return {k: round(s, 4) for k, s in first.items() if s >= cfg.min_relevance}
    first = first_stage(
        index, documents, topic_vector, matcher, cfg.lexical_weight, cfg.min_relevance, best=cfg.rerank_candidates
    )
    head = sorted(first, key=lambda k: -first[k])[: cfg.rerank_candidates]
    # the opening words say what a paragraph is about; the cross-encoder's time grows with what it reads
    probs = reranker.score(topic, [" ".join(index.paragraphs[k].text.split()[: cfg.rerank_words]) for k in head])
    # a paragraph that names the topic (or its glossary forms) needs less of the cross-encoder than one that does not
    return {
        k: round(p, 4)
        for k, p in zip(head, probs, strict=True)
        if p >= (cfg.min_rerank if matcher.names(index.paragraphs[k].text) else cfg.min_rerank_unnamed)
    }


# ------------------------------------------------------------------ grouping


def printed_grades(report: Report) -> dict[str, str]:
    """Return the report's grades keyed by the area as printed."""
    return {AREA_NAMES.get(area, area): grade for area, grade in report.judgements.items()}


def grade_history(index: Index, authority: str) -> list[GradeRecord]:
    """Return every indexed inspection of an authority with grades, oldest first."""
    graded = [r for r in index.reports.values() if r.local_authority == authority and r.judgements]
    return [
        GradeRecord(
            document_id=r.document_id,
            inspection_dates=r.inspection_dates,
            published=r.published,
            grades=printed_grades(r),
            citation=f"/reports/{r.document_id}/paragraphs/judgements",
        )
        for r in sorted(graded, key=lambda r: r.ends)
    ]


def report_findings(
    index: Index, report: Report, scores: dict[str, float], matcher: TopicMatcher, latest: bool, limit: int
) -> ReportFindings:
    """Return one report's relevant paragraphs, most relevant first, with a one-sentence summary."""
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:limit]
    paragraphs = [index.paragraphs[(report.document_id, label)] for label, _ in ranked]
    top = paragraphs[0]
    return ReportFindings(
        document_id=report.document_id,
        title=report.title or report_name(report),
        local_authority=report.local_authority,
        kind=report.kind,
        inspection_dates=report.inspection_dates,
        published=report.published,
        latest=latest,
        grades=printed_grades(report),
        summary=summary_sentence(top, matcher),
        summary_paragraph=top.label,
        paragraphs=[make_citation(index, p, s) for p, (_, s) in zip(paragraphs, ranked, strict=True)],
    )


def _indexed_authority(index: Index, la: LocalAuthority) -> str | None:
    return next((r.local_authority for r in index.reports.values() if same_authority(r.local_authority, la)), None)


def peers(index: Index, authority: str, compare_with: str) -> tuple[list[str], list[str]]:
    """Return (indexed peer authorities, peers with no indexed report) by statistical neighbours or region."""
    named = find_authorities(authority)
    if not named:
        return [], []
    me = named[0]
    table = load_authorities()
    if compare_with == "statistical_neighbours":
        by_code = {la.la_code: la for la in table}
        others = [by_code[c] for c in me.statistical_neighbours if c in by_code]
    else:
        same_region = (la for la in table if la.region == me.region and la.la_code != me.la_code)
        others = sorted(same_region, key=lambda a: a.name)
    indexed: list[str] = []
    missing: list[str] = []
    for la in others:
        name = _indexed_authority(index, la)
        (indexed if name else missing).append(name or la.name)
    return indexed, missing


def find_findings(
    request: FindingsRequest,
    index: Index,
    embedder: Embedder,
    reranker: Reranker | None,
    cfg: FindingsSettings,
    max_chars: int,
    expand_glossary: bool = True,
) -> Findings:
    """Return what the indexed reports say about a topic, grouped by authority, oldest report first."""
    t0 = time.perf_counter()
    topic = check_question(request.topic, max_chars)
    if request.compare_with and not request.local_authority:
        raise QuestionError(
            f"compare_with={request.compare_with} needs local_authority: whose neighbours should be compared?"
        )
    base = validate_filters(
        Filters(local_authority=request.local_authority, kind=request.kind, since=request.since, until=request.until),
        index,
    )
    assert base is not None
    requested = base.local_authority
    authorities: list[tuple[str | None, Literal["requested", "statistical neighbour", "region", "all"]]] = [
        (requested, "requested" if requested else "all")
    ]
    note = ""
    if request.compare_with and requested:
        indexed, missing = peers(index, requested, request.compare_with)
        role: Literal["requested", "statistical neighbour", "region", "all"] = (
            "statistical neighbour" if request.compare_with == "statistical_neighbours" else "region"
        )
        authorities += [(name, role) for name in indexed]
        if missing:
            note = f"No indexed report for {len(missing)} of the peers: {', '.join(missing)}."

    terms = topic_terms(topic, expand_glossary)
    matcher = TopicMatcher.of(terms)
    t = time.perf_counter()
    query = " ".join(dict.fromkeys(terms[:4]))
    vector = embedder.embed_query(query)
    timings = {"embed": _ms(t)}
    t = time.perf_counter()
    documents: list[str] = []
    roles: dict[str, Literal["requested", "statistical neighbour", "region", "all"]] = {}
    for name, role in authorities:
        docs = index.allowed_documents(base.model_copy(update={"local_authority": name}))
        documents += docs
        for d in docs:
            roles[index.reports[d].local_authority] = role
    # one authority: the cross-encoder checks the best candidates; several: the first stage alone, to stay fast
    scores = score_paragraphs(
        index, documents, query, vector, matcher, cfg, reranker if len(authorities) == 1 and requested else None
    )
    timings["score"] = _ms(t)

    by_report: dict[str, dict[str, float]] = defaultdict(dict)
    for (doc, label), s in scores.items():
        by_report[doc][label] = s
    latest_of: dict[str, str] = {}
    for r in index.reports.values():
        if r.local_authority not in latest_of or r.ends > index.reports[latest_of[r.local_authority]].ends:
            latest_of[r.local_authority] = r.document_id
    grouped: dict[str, list[ReportFindings]] = defaultdict(list)
    for doc in sorted(by_report, key=lambda d: index.reports[d].ends):
        report = index.reports[doc]
        grouped[report.local_authority].append(
            report_findings(
                index, report, by_report[doc], matcher, latest_of[report.local_authority] == doc, cfg.max_per_report
            )
        )
    wanted = [name for name, _ in authorities if name] or sorted(
        grouped, key=lambda a: -max(s for r in grouped[a] for s in (c.score for c in r.paragraphs))
    )
    if not requested and len(wanted) > cfg.max_authorities:
        note = (
            f"{len(wanted)} authorities have findings on this topic; showing the {cfg.max_authorities} with the most "
            "relevant paragraphs. Name an authority to see one in full."
        )
        wanted = sorted(wanted[: cfg.max_authorities])
    groups = [
        AuthorityFindings(
            local_authority=name,
            region=next((la.region for la in find_authorities(name)), ""),
            role=roles.get(name, "all"),
            grade_history=grade_history(index, name),
            reports=grouped.get(name, []),
        )
        for name in wanted
    ]
    timings["total"] = _ms(t0)
    return Findings(
        topic=topic,
        terms=terms,
        compare_with=request.compare_with,
        reports_searched=len(documents),
        groups=[g for g in groups if g.reports or g.role in ("statistical neighbour", "region")],
        note=note,
        timings_ms=timings,
    )


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


# ------------------------------------------------------------------ briefing formats


def _grades_line(grades: dict[str, str]) -> str:
    return "; ".join(f"{area}: {grade}" for area, grade in grades.items())


def to_markdown(findings: Findings) -> str:
    """Return the findings as Markdown to paste into a briefing, with the licence attribution."""
    out = [f"# What inspectors said about: {findings.topic}", ""]
    if findings.note:
        out += [f"_{findings.note}_", ""]
    if not findings.groups:
        out += ["No indexed report speaks about this topic.", ""]
    for group in findings.groups:
        role = "" if group.role in ("requested", "all") else f" ({group.role})"
        out += [f"## {group.local_authority}{role}", ""]
        if group.grade_history:
            out += ["| Inspection | " + " | ".join(AREA_NAMES.values()) + " |", "|---" * (len(AREA_NAMES) + 1) + "|"]
            for g in group.grade_history:
                cells = [g.grades.get(area, "not graded") for area in AREA_NAMES.values()]
                out.append(f"| {format_dates(g.inspection_dates)} | " + " | ".join(cells) + " |")
            out.append("")
        if not group.reports:
            out += ["No indexed report on this authority speaks about the topic.", ""]
        for r in group.reports:
            latest = " (latest)" if r.latest else ""
            out += [f"### {r.kind.capitalize()}, {format_dates(r.inspection_dates)}{latest}", ""]
            if r.grades:
                out += [f"Grades: {_grades_line(r.grades)}.", ""]
            out += [f"**In short:** {r.summary} (para {r.summary_paragraph})", ""]
            for c in r.paragraphs:
                where = f", p. {c.page}" if c.page else ""
                out.append(f"- **Para {c.paragraph}** ({c.section or 'no section'}{where}): {c.text}")
            out.append("")
    out += ["---", ATTRIBUTION, ""]
    return "\n".join(out)


CSV_COLUMNS = [
    "local_authority",
    "role",
    "document_id",
    "kind",
    "start",
    "end",
    "latest",
    "paragraph",
    "section",
    "page",
    "relevance",
    "text",
    "url",
    "source",
]


def to_csv(findings: Findings) -> str:
    """Return one CSV row per relevant paragraph; every row carries its source and licence."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for group in findings.groups:
        for r in group.reports:
            dates: list[dt.date | None] = [*r.inspection_dates] or [None]
            for c in r.paragraphs:
                writer.writerow(
                    [
                        group.local_authority,
                        group.role,
                        r.document_id,
                        r.kind,
                        dates[0],
                        dates[-1],
                        r.latest,
                        c.paragraph,
                        c.section,
                        c.page or "",
                        c.score,
                        c.text,
                        c.url,
                        "Ofsted; Open Government Licence v3.0",
                    ]
                )
    return buf.getvalue()
