"""Baselines: the LangChain pipelines most projects ship, on the same embedding model and parsed reports.

- `langchain-vanilla`: RecursiveCharacterTextSplitter(1000, 200) → FAISS vector store → top 4 chunks.
- `langchain-hybrid-rerank`: the same splitter; BM25Retriever + FAISS fused by EnsembleRetriever; the
  cross-encoder through ContextualCompressionRetriever (CrossEncoderReranker, top 4). The strongest recipe in
  LangChain's own documentation.
- `bm25-only`, `dense-only`: our paragraph index's single branches, top 4 paragraphs.

Baselines never refuse. A chunk cites every paragraph it holds at least one full sentence of (40+ characters),
which is lenient to them: a 1,000-character chunk spans several paragraphs.
"""

from __future__ import annotations

import time
from typing import Any

from eval.dataset import Question
from eval.run import Output, System
from indexer.embed import QUERY_PREFIX, Embedder, Reranker
from indexer.models import Report
from indexer.store import Index

CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 1000, 200, 4


def report_text(report: Report) -> str:
    """Return a report as plain text, paragraphs separated by blank lines (what a tutorial would load)."""
    return "\n\n".join(p.text for p in report.paragraphs)


def _lc_embeddings(embedder: Embedder) -> Any:
    """Return our bi-encoder behind LangChain's Embeddings interface, with bge's query prefix on queries."""
    from langchain_core.embeddings import Embeddings

    class LCEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in embedder.embed_documents(texts)]

        def embed_query(self, text: str) -> list[float]:
            return list(map(float, embedder.embed_documents([QUERY_PREFIX + text])[0]))

    return LCEmbeddings()


def _lc_cross_encoder(reranker: Reranker) -> Any:
    from langchain_core.cross_encoders import BaseCrossEncoder

    class CE(BaseCrossEncoder):
        def score(self, text_pairs: list[tuple[str, str]]) -> list[float]:
            if not text_pairs:
                return []
            question = text_pairs[0][0]
            return reranker.score(question, [p for _, p in text_pairs])

    return CE()


def cited_paragraphs(chunk: str, report: Report) -> list[tuple[str, str]]:
    """Return the paragraphs of a report that a chunk holds at least one full sentence (40+ chars) of."""
    from api.compose import split_sentences

    out = []
    for p in report.paragraphs:
        if any(len(s) >= 40 and s in chunk for s in split_sentences(p.text)) or (len(p.text) < 40 and p.text in chunk):
            out.append((p.document_id, p.label))
    return out


def _documents(index: Index) -> list[Any]:
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    docs = [
        Document(page_content=report_text(r), metadata={"document_id": r.document_id}) for r in index.reports.values()
    ]
    return splitter.split_documents(docs)


def _from_docs(index: Index, retrieve: Any) -> System:
    def run(q: Question) -> Output:
        t0 = time.perf_counter()
        docs = retrieve(q.question)
        elapsed = (time.perf_counter() - t0) * 1000
        cited: list[tuple[str, str]] = []
        for d in docs:
            for ref in cited_paragraphs(d.page_content, index.reports[d.metadata["document_id"]]):
                if ref not in cited:
                    cited.append(ref)
        return Output(
            answer=" ".join(d.page_content for d in docs),
            answerable=True,
            cited=cited,
            ranked=cited,
            latency_ms=elapsed,
        )

    return run


def langchain_vanilla(index: Index, embedder: Embedder) -> System:
    """Return the tutorial pipeline: 1000/200 chunks, FAISS, top 4."""
    from langchain_community.vectorstores import FAISS

    store = FAISS.from_documents(_documents(index), _lc_embeddings(embedder))
    retriever = store.as_retriever(search_kwargs={"k": TOP_K})
    return _from_docs(index, retriever.invoke)


def langchain_hybrid_rerank(index: Index, embedder: Embedder, reranker: Reranker) -> System:
    """Return LangChain's documented strongest recipe: BM25 + FAISS ensemble, cross-encoder rerank, top 4."""
    from langchain_classic.retrievers import ContextualCompressionRetriever, EnsembleRetriever
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS

    docs = _documents(index)
    bm25 = BM25Retriever.from_documents(docs, k=TOP_K)
    dense = FAISS.from_documents(docs, _lc_embeddings(embedder)).as_retriever(search_kwargs={"k": TOP_K})
    ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
    compressor = CrossEncoderReranker(model=_lc_cross_encoder(reranker), top_n=TOP_K)
    retriever = ContextualCompressionRetriever(base_compressor=compressor, base_retriever=ensemble)
    return _from_docs(index, retriever.invoke)


def single_branch(index: Index, embedder: Embedder, branch: str) -> System:
    """Return one branch of our paragraph index (bm25 or dense), top 4 paragraphs, never refusing."""

    def run(q: Question) -> Output:
        t0 = time.perf_counter()
        mask = index.mask(None)
        if branch == "bm25":
            hits = index.search_bm25(q.question, TOP_K, mask)
        else:
            hits = index.search_dense(embedder.embed_query(q.question), TOP_K, mask)
        elapsed = (time.perf_counter() - t0) * 1000
        cited = [(h.chunk.document_id, h.chunk.paragraph) for h in hits]
        text = " ".join(index.paragraphs[ref].text for ref in cited)
        return Output(answer=text, answerable=True, cited=cited, ranked=cited, latency_ms=elapsed)

    return run
