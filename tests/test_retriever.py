"""OfstedRetriever: our retrieval behind LangChain's retriever interface, in a real LCEL chain."""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

from api.engine import Engine
from api.retriever import OfstedRetriever
from indexer.store import Filters


def test_retriever_returns_paragraphs_as_documents_with_their_report_metadata(engine: Engine) -> None:
    docs = OfstedRetriever(engine=engine, k=3).invoke("How quickly are contacts to the front door dealt with?")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    first = docs[0]
    assert first.page_content.startswith("The focused visit in March 2023 found that there were serious delays")
    meta = dict(first.metadata)
    assert 0.0 < meta.pop("score") <= 1.0
    assert meta == {
        "reference": "peterborough-ilacs-2023#2",
        "document_id": "peterborough-ilacs-2023",
        "paragraph": "2",
        "section": "The experiences and progress of children who need help and protection: requires improvement to "
        "be good",
        "page": None,
        "local_authority": "Peterborough",
        "kind": "inspection",
        "report": "Peterborough inspection",
        "title": meta["title"],
        "inspection_dates": ["2023-11-27", "2023-12-08"],
        "published": meta["published"],
        "url": "/reports/peterborough-ilacs-2023/paragraphs/2",
    }
    assert len({d.metadata["reference"] for d in docs}) == 3  # a long paragraph's windows count once


def test_retriever_keeps_to_its_filters_and_to_the_report_a_question_names(engine: Engine) -> None:
    visit = OfstedRetriever(engine=engine, k=4, filters=Filters(kind="monitoring visit"))
    assert {d.metadata["document_id"] for d in visit.invoke("police referrals")} == {
        "peterborough-monitoring-visit-2025"
    }
    named = OfstedRetriever(engine=engine, k=4).invoke("What did the 2025 monitoring visit say about police referrals?")
    assert {d.metadata["document_id"] for d in named} == {"peterborough-monitoring-visit-2025"}
    assert OfstedRetriever(engine=engine).invoke("How are children in Camden kept safe?") == []


def test_retriever_composes_in_an_lcel_chain(engine: Engine) -> None:
    def cite(docs: list[Document]) -> str:
        return "\n".join(f"[{d.metadata['reference']}] {d.page_content[:70]}" for d in docs)

    retrieve = OfstedRetriever(engine=engine, k=2) | RunnableLambda(cite)
    chain = RunnableParallel(context=retrieve, question=RunnablePassthrough())
    out = chain.invoke("How quickly are contacts to the front door dealt with?")
    assert out["question"] == "How quickly are contacts to the front door dealt with?"
    assert out["context"].startswith("[peterborough-ilacs-2023#2] The focused visit in March 2023 found that")
    assert out["context"].count("\n") == 1
