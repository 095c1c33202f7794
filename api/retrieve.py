"""Retrieve: the first stage (dense + BM25, fused) under the scope's filters, and the cross-encoder's reading."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from indexer.glossary import Term, expand_query, matched_terms
from indexer.models import (
    Hit,
)
from indexer.settings import Settings
from indexer.store import Filters, Index, fuse

if TYPE_CHECKING:
    from indexer.embed import Embedder, Reranker

from api.judge import logit
from api.names import expand_acronyms
from api.scope import COMPARATIVE, NAMES_TIME, Scope, in_scope_reports


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


class FirstStage(BaseModel):
    """What the first stage found for a question: its query forms, vector, both branches and their fusion."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    expanded: str = Field(description="The query both branches read: the question with its glossary expansions.")
    vector: np.ndarray[Any, Any] = Field(description="The query's embedding.")
    dense: list[Hit] = Field(description="The dense branch's top-k.")
    sparse: list[Hit] = Field(description="The BM25 branch's top-k.")
    fused: list[Hit] = Field(description="Both fused, best first: the cross-encoder reads the first of these.")
    embed_ms: float


def first_stage(q: str, index: Index, embedder: Embedder, settings: Settings, scope: Scope) -> FirstStage:
    """Return the dense and BM25 top-k of a (resolved) question under its scope's filters, and their fusion."""
    expanded = expand_query(expand_acronyms(q, index)) if settings.retrieval.expand_glossary else q
    # the bi-encoder learnt everyday wording as asked: it reads the glossary's expansions only for an acronym
    # ('EDT'), where they say what it stands for (dev: hit 0.909 → 0.955 held-out, 0.887 → 0.892 national)
    dense_query = expanded if any(t.term in q for t in acronym_terms(q)) else q
    t = time.perf_counter()
    vector = embedder.embed_query(dense_query)
    embed_ms = elapsed_ms(t)
    dense, sparse = index.search_branches(expanded, vector, k=settings.retrieval.top_k, filters=scope.filters)
    fused = fuse([dense, sparse], settings.retrieval.rrf_k)
    return FirstStage(expanded=expanded, vector=vector, dense=dense, sparse=sparse, fused=fused, embed_ms=embed_ms)


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


def rerank_query(question: str, expanded: str, mode: str) -> str:
    """Return what the cross-encoder reads: the question as asked, or with its glossary expansions when it uses
    an acronym the glossary expands ('EDT'; `rerank_expanded`: never, acronyms, always), less a leading 'What
    did inspectors say about'."""
    if mode == "always" or (mode == "acronyms" and any(t.term in question for t in acronym_terms(question))):
        return without_frame(expanded)
    return without_frame(question)


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
    if NAMES_TIME.search(question) or COMPARATIVE.search(question) or not fused:
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


def elapsed_ms(t0: float) -> float:
    """Return the milliseconds since a perf_counter reading, to one decimal."""
    return round((time.perf_counter() - t0) * 1000, 1)
