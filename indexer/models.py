"""The shared vocabulary: reports, paragraphs, chunks, hits, citations and answers, spoken by every layer."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["inspection", "monitoring visit", "focused visit", "other"]
Branch = Literal["bm25", "dense", "fused", "reranked", "history"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Paragraph(Frozen):
    document_id: str = Field(description="The report's id: its file name's stem, lower-cased.")
    label: str = Field(
        description="Printed number ('11'); 'p1'… for unnumbered paragraphs; 'header'; 'judgements'; 'improve-1'…"
    )
    section: str = Field(default="", description="The heading of the section the paragraph sits under.")
    page: int | None = Field(default=None, description="PDF page (1-based) where the paragraph starts.")
    text: str = Field(description="The paragraph's full text, with wrapped lines joined.")

    @property
    def ref(self) -> str:
        """Return the paragraph's reference, e.g. 'peterborough-ilacs-2023#11'."""
        return f"{self.document_id}#{self.label}"


class Report(Frozen):
    document_id: str = Field(description="The file name's stem, lower-cased.")
    aliases: list[str] = Field(default_factory=list, description="Other ids the same report was indexed under.")
    title: str = Field(default="", description="The report's printed title.")
    local_authority: str = Field(default="", description="Local authority inspected, e.g. 'Peterborough'.")
    kind: Kind = Field(default="other", description="Inspection, monitoring visit, focused visit…")
    inspection_dates: list[dt.date] = Field(
        default_factory=list, description="First and last day of the inspection or visit."
    )
    published: dt.date | None = Field(default=None, description="Publication or letter date where printed.")
    inspectors: list[str] = Field(default_factory=list, description="Lead inspector first, then the others.")
    judgements: dict[str, str] = Field(
        default_factory=dict, description="Judgement area → grade, from the judgement table."
    )
    source_path: str = Field(default="", description="The file the report was parsed from.")
    source_sha256: str = Field(default="", description="Hash of the source file's bytes.")
    paragraphs: list[Paragraph] = Field(default_factory=list, description="Paragraphs in reading order.")
    warnings: list[str] = Field(default_factory=list, description="What the parser noticed but could not fix.")

    def paragraph(self, label: str) -> Paragraph | None:
        """Return the paragraph with this label, or None."""
        return next((p for p in self.paragraphs if p.label == label), None)

    @property
    def ends(self) -> dt.date:
        """Return the last day of the inspection or visit (the publication date when no dates are printed)."""
        return (self.inspection_dates or [self.published or dt.date.min])[-1]

    @property
    def identity(self) -> tuple[str, str, tuple[dt.date, ...]]:
        """Return what makes two files the same report: authority, kind and inspection dates."""
        return (self.local_authority.lower(), self.kind, tuple(self.inspection_dates))


class ReportSummary(Frozen):
    """A report without its paragraphs: what /reports lists."""

    document_id: str = Field(description="The report's id.")
    aliases: list[str] = Field(default_factory=list, description="Other ids of the same report.")
    title: str = Field(description="The report's printed title.")
    local_authority: str = Field(description="Local authority inspected.")
    kind: Kind = Field(description="Inspection, monitoring visit, focused visit…")
    inspection_dates: list[dt.date] = Field(description="First and last day of the inspection or visit.")
    published: dt.date | None = Field(description="Publication or letter date where printed.")
    inspectors: list[str] = Field(description="Lead inspector first.")
    judgements: dict[str, str] = Field(description="Judgement area → grade.")
    paragraphs: int = Field(description="Number of paragraphs indexed.")
    has_pdf: bool = Field(default=False, description="Whether the original PDF can be served.")

    @classmethod
    def of(cls, report: Report) -> ReportSummary:
        """Return the summary of a report."""
        return cls(
            document_id=report.document_id,
            aliases=report.aliases,
            title=report.title,
            local_authority=report.local_authority,
            kind=report.kind,
            inspection_dates=report.inspection_dates,
            published=report.published,
            inspectors=report.inspectors,
            judgements=report.judgements,
            paragraphs=len(report.paragraphs),
            has_pdf=report.source_path.lower().endswith(".pdf"),
        )


class Chunk(Frozen):
    id: str = Field(description="Content hash of the embedded text and its paragraph reference.")
    document_id: str = Field(description="The report's id.")
    paragraph: str = Field(description="The cited paragraph's label.")
    window: int = Field(default=0, description="Window number when a long paragraph is split.")
    text: str = Field(description="Text as embedded: report and section context, then the paragraph text.")

    @property
    def key(self) -> tuple[str, str]:
        """Return (document_id, paragraph label): the paragraph this chunk cites, as the index keys it."""
        return (self.document_id, self.paragraph)

    @staticmethod
    def make_id(document_id: str, paragraph: str, window: int, text: str) -> str:
        """Return a stable content hash for a chunk."""
        h = hashlib.sha256(f"{document_id}\x00{paragraph}\x00{window}\x00{text}".encode())
        return h.hexdigest()[:16]


class Hit(Frozen):
    chunk: Chunk = Field(description="The chunk retrieved.")
    score: float = Field(description="Score from the branch that produced the hit (higher is better).")
    branch: Branch = Field(description="bm25, dense, fused or reranked.")


class Citation(Frozen):
    document_id: str = Field(description="The report's id.")
    paragraph: str = Field(description="The paragraph's label, as printed ('11') or derived ('p3').")
    section: str = Field(description="Section heading of the paragraph.")
    page: int | None = Field(description="PDF page of the paragraph, where known.")
    text: str = Field(description="The paragraph's full text.")
    score: float = Field(description="Relevance score (cross-encoder sigmoid when reranked, else fused score).")
    local_authority: str = Field(description="Local authority of the report.")
    kind: Kind = Field(description="Kind of report.")
    inspection_dates: list[dt.date] = Field(description="First and last day of the inspection or visit.")
    title: str = Field(default="", description="The report's title.")
    url: str = Field(default="", description="This paragraph's own URL on the API.")
    pdf_url: str | None = Field(default=None, description="The original PDF, opened at the paragraph's page.")


class CitationRef(Frozen):
    document_id: str = Field(description="The report's id.")
    paragraph: str = Field(description="The paragraph's label.")


class Turn(Frozen):
    question: str = Field(description="An earlier question.")
    answer: str = Field(default="", description="The answer given to it.")
    citations: list[CitationRef] = Field(default_factory=list, description="What that answer cited.")


class Sentence(Frozen):
    text: str = Field(description="One sentence of the answer.")
    citations: list[int] = Field(description="Indexes into the answer's citations supporting this sentence.")
    earlier: bool = Field(
        default=False,
        description="From an older report than the authority's latest one cited: history, not the current position.",
    )
    unsupported: str = Field(
        default="",
        description="Only for a generated sentence shown flagged (llm.flag_unsupported): why its cited paragraphs do "
        "not support it. Empty for every sentence shown as supported.",
    )


def join_sentences(sentences: list[Sentence]) -> str:
    """Return the answer text: the current position first, then what earlier reports said, marked as such."""
    now = " ".join(s.text for s in sentences if not s.earlier)
    before = " ".join(s.text for s in sentences if s.earlier)
    if not before:
        return now
    return f"{now} Earlier reports: {before}" if now else f"Earlier reports: {before}"


def renumbered(sentences: list[Sentence], citations: list[Citation]) -> tuple[list[Sentence], list[Citation]]:
    """Return the sentences citing a list of only the citations they use, in order of first use."""
    used: dict[int, int] = {}
    out: list[Sentence] = []
    for sentence in sentences:
        for i in sentence.citations:
            used.setdefault(i, len(used))
        out.append(sentence.model_copy(update={"citations": [used[i] for i in sentence.citations]}))
    return out, [citations[i] for i in used]


class TraceStep(Frozen):
    """One stage of the answer path, as `POST /ask` with `debug` reports it."""

    stage: Literal["understand", "scope", "retrieve", "judge", "compose", "verify"] = Field(
        description="The stage: understand → scope → retrieve → judge → compose → verify."
    )
    decision: str = Field(description="What the stage decided, in a few words.")
    rule: str = Field(default="", description="The rule that fired, when a rule decided (empty: none).")
    scores: dict[str, float] = Field(default_factory=dict, description="The scores the decision read.")


class SentenceCheck(Frozen):
    """One generated sentence and what checking it against its cited paragraphs found."""

    text: str = Field(description="The sentence as the model wrote it.")
    labels: list[str] = Field(description="The paragraph labels the model cited for it, as written.")
    reasons: list[str] = Field(
        default_factory=list,
        description="Why it is not supported, each 'rule: detail' (unknown_label, no_citation, number, date, grade, "
        "service, negation, overlap, support, repeat); empty when it passed. An unknown label alone is removed, "
        "not fatal.",
    )
    overlap: float = Field(default=0.0, description="Share of its content words found in its cited paragraphs.")
    support: float | None = Field(
        default=None, description="Best cross-encoder probability of (sentence, cited paragraph); None: not scored."
    )

    @property
    def passed(self) -> bool:
        """Return whether the sentence may be shown as supported (unknown labels were removed, nothing else failed)."""
        return all(r.startswith("unknown_label") for r in self.reasons)


class Generation(Frozen):
    """What the LLM answerer did for one answer."""

    requested: Literal["extractive", "llm"] = Field(description="The answerer asked for.")
    answerer: Literal["extractive", "llm"] = Field(description="The answerer whose sentences are shown.")
    model: str = Field(default="", description="The model the endpoint was asked to use.")
    prompt_version: str = Field(default="", description="The prompts' version, e.g. 'v1'.")
    prompt_sha256: str = Field(default="", description="Hash of the prompt files used (first 12 hex digits).")
    fallback: Literal["", "not_generated", "timeout", "model_refused", "malformed", "nothing_supported", "error"] = (
        Field(
            default="",
            description="Why the extractive answer is shown instead (empty: the generated one is shown): "
            "not_generated (a refusal or an answer read from a table), timeout, model_refused, malformed, "
            "nothing_supported, error.",
        )
    )
    detail: str = Field(default="", description="The fallback's reason in one sentence.")
    checks: list[SentenceCheck] = Field(default_factory=list, description="Every sentence generated, checked.")
    condensed: str = Field(default="", description="The standalone question the LLM made of a follow-up, if any.")


class Answer(Frozen):
    question: str = Field(default="", description="The question answered.")
    answer: str = Field(description="The answer text: the sentences joined.")
    answerable: bool = Field(description="False when the reports do not cover the question.")
    sentences: list[Sentence] = Field(description="Answer sentences, each with its citations.")
    citations: list[Citation] = Field(description="Paragraphs cited by the sentences.")
    closest: list[Citation] = Field(
        default_factory=list, description="Closest paragraphs when refusing; never counted as citations."
    )
    earlier: list[Sentence] = Field(
        default_factory=list,
        description="For a question naming no date: what older reports of the same authority said, shown apart "
        "as history, not as the current position. Their citations index into earlier_citations.",
    )
    earlier_citations: list[Citation] = Field(
        default_factory=list, description="Paragraphs of older reports cited by the earlier sentences."
    )
    timings_ms: dict[str, float] = Field(default_factory=dict, description="Time spent per step.")
    trace: list[TraceStep] | None = Field(
        default=None, description="With `debug`: each stage's decision, the rule that fired and the scores."
    )
    generation: Generation | None = Field(
        default=None,
        description="When an LLM answerer was asked for: what it generated, what the check dropped, and why the "
        "extractive answer is shown instead when it is (absent for the extractive answerer).",
    )


class GradeRecord(Frozen):
    """One inspection's grades, with the judgement table to cite."""

    document_id: str = Field(description="The inspection report's id.")
    inspection_dates: list[dt.date] = Field(description="First and last day of the inspection.")
    published: dt.date | None = Field(default=None, description="Publication date where printed.")
    grades: dict[str, str] = Field(description="Judgement area (as printed) → grade.")
    citation: str = Field(description="URL of the judgement table paragraph.")


class ReportFindings(Frozen):
    """What one report says about a topic."""

    document_id: str = Field(description="The report's id.")
    title: str = Field(description="The report's printed title.")
    local_authority: str = Field(description="Local authority of the report.")
    kind: Kind = Field(description="Inspection, monitoring visit, focused visit…")
    inspection_dates: list[dt.date] = Field(description="First and last day of the inspection or visit.")
    published: dt.date | None = Field(default=None, description="Publication or letter date where printed.")
    latest: bool = Field(description="Whether this is the authority's most recent indexed report.")
    grades: dict[str, str] = Field(description="Judgement area (as printed) → grade; empty for visits.")
    summary: str = Field(description="One sentence copied from the most relevant paragraph.")
    summary_paragraph: str = Field(description="Label of the paragraph the summary sentence comes from.")
    paragraphs: list[Citation] = Field(description="Every relevant paragraph, most relevant first.")


class AuthorityFindings(Frozen):
    """The findings of one authority's reports on a topic, oldest report first, with its grade history."""

    local_authority: str = Field(description="The authority's name as printed in its reports.")
    region: str = Field(default="", description="Its region.")
    role: Literal["requested", "statistical neighbour", "region", "all"] = Field(
        description="Why it is here: asked for, a statistical neighbour or regional peer, or an unscoped search."
    )
    grade_history: list[GradeRecord] = Field(description="Every indexed inspection's grades, oldest first.")
    reports: list[ReportFindings] = Field(description="Reports that speak about the topic, oldest first.")


class Findings(Frozen):
    """What inspectors said about a topic, grouped by authority."""

    topic: str = Field(description="The topic asked about.")
    terms: list[str] = Field(description="The words searched for: the topic and its glossary synonyms.")
    compare_with: str | None = Field(default=None, description="statistical_neighbours or region, when asked.")
    reports_searched: int = Field(description="How many indexed reports the filters allowed.")
    groups: list[AuthorityFindings] = Field(description="One group per authority with findings.")
    note: str = Field(default="", description="What was left out or not indexed, in one sentence.")
    timings_ms: dict[str, float] = Field(default_factory=dict, description="Time spent per step.")


def separate_earlier(answer: Answer) -> Answer:
    """Return the answer with its earlier reports' sentences moved to `earlier`, with their own citations.

    The answer's `citations` are then the current position's evidence only. When every sentence is history
    (the latest report's sentences failed the citation check), they stay the answer, still marked earlier.
    """
    now = [s for s in answer.sentences if not s.earlier]
    before = [s for s in answer.sentences if s.earlier]
    if not now or not before:
        return answer
    sentences, citations = renumbered(now, answer.citations)
    earlier, earlier_citations = renumbered(before, answer.citations)
    return answer.model_copy(
        update={
            "sentences": sentences,
            "citations": citations,
            "earlier": earlier,
            "earlier_citations": earlier_citations,
        }
    )
