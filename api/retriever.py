"""OfstedRetriever: our retrieval as a LangChain retriever, for other projects' chains.

understand (follow-ups, authority and report named) → scope → hybrid retrieval (dense + BM25, fused) → rerank by
the fine-tuned cross-encoder; each paragraph comes back once, as a Document whose metadata say which report and
paragraph it is. It retrieves and ranks; it does not decide whether to answer (that is the judge's job in /ask).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from api.answer import check_question
from api.compose import report_name
from api.retrieve import first_stage, rerank, rerank_query
from api.scope import question_scope
from api.understand import about_grades
from indexer.models import Hit
from indexer.store import Filters, Index

if TYPE_CHECKING:
    from api.engine import Engine


def ranked_paragraphs(engine: Engine, question: str, filters: Filters | None, k: int) -> list[Hit]:
    """Return the `k` best paragraphs for a question, reranked, one hit per paragraph (empty: nothing in scope)."""
    index = engine.require_index()
    settings = engine.settings
    asked = check_question(question, settings.api.max_question_chars)
    resolved, scope = question_scope(asked, index, filters, None)
    if scope.filters.document_ids == []:
        return []
    q = resolved.question
    stage = first_stage(q, index, engine.embedder, settings, scope)
    candidates = [h for h in stage.fused if about_grades(q) or h.chunk.paragraph != "judgements"]
    query = rerank_query(q, stage.expanded, settings.retrieval.rerank_expanded)
    ranked = rerank(query, candidates, index, engine.reranker, max(k, settings.retrieval.rerank_candidates))
    best: dict[tuple[str, str], Hit] = {}
    for hit in ranked:
        best.setdefault(hit.chunk.key, hit)
    return list(best.values())[:k]


def to_document(index: Index, hit: Hit) -> Document:
    """Return a paragraph as a LangChain Document: its text, and where it comes from in the metadata."""
    paragraph = index.paragraphs[hit.chunk.key]
    report = index.reports[hit.chunk.document_id]
    return Document(
        page_content=paragraph.text,
        metadata={
            "reference": paragraph.ref,
            "document_id": paragraph.document_id,
            "paragraph": paragraph.label,
            "section": paragraph.section,
            "page": paragraph.page,
            "local_authority": report.local_authority,
            "kind": report.kind,
            "report": report_name(report),
            "title": report.title,
            "inspection_dates": [d.isoformat() for d in report.inspection_dates],
            "published": report.published.isoformat() if report.published else None,
            "score": round(hit.score, 4),
            "url": f"/reports/{paragraph.document_id}/paragraphs/{paragraph.label}",
        },
    )


class OfstedRetriever(BaseRetriever):
    """Paragraphs of Ofsted reports for a question, best first, as LangChain Documents.

    `OfstedRetriever.from_index("data/index", k=4)` loads an index and the models; `OfstedRetriever(engine=...)`
    shares an engine already loaded (the server's, a test's).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Any = Field(description="The loaded api.engine.Engine: index, embedder and cross-encoder.")
    k: int = Field(default=4, ge=1, le=50, description="Paragraphs returned.")
    filters: Filters | None = Field(default=None, description="Restrict retrieval to some reports.")

    @classmethod
    def from_index(cls, index_dir: str | Path, k: int = 4, filters: Filters | None = None) -> OfstedRetriever:
        """Return a retriever over the index in `index_dir` (settings otherwise from OFSTED_QA_* variables)."""
        from api.engine import Engine
        from indexer.settings import get_settings

        settings = get_settings()
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": Path(index_dir)})})
        engine = Engine(settings)
        engine.load(build_default=False)
        return cls(engine=engine, k=k, filters=filters)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        index = self.engine.require_index()
        return [to_document(index, h) for h in ranked_paragraphs(self.engine, query, self.filters, self.k)]
