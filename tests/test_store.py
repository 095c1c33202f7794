"""Index: build, reuse, replace, atomic swap, duplicates and filters applied to both branches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer.embed import Embedder, Reranker
from indexer.errors import IndexNotFoundError
from indexer.store import Filters, Index, build_index, fuse
from tests.conftest import PDF_INSPECTION, SEED_INSPECTION, SEED_LETTER


def build(paths: list[Path], index_dir: Path, models: tuple[Embedder, Reranker], **kw: object):  # type: ignore[no-untyped-def]
    embedder, reranker = models
    return build_index(paths, index_dir, embedder, reranker.name, reranker.sha256, **kw)  # type: ignore[arg-type]


def test_manifest_names_models_hashes_and_reports(engine) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads((engine.index.path / "manifest.json").read_text())
    assert manifest["dimension"] == 384
    assert "bge-small" in manifest["embedding_model"] and len(manifest["embedding_sha256"]) == 64
    assert "MiniLM" in manifest["reranker_model"] and len(manifest["reranker_sha256"]) == 64
    assert set(manifest["reports"]) == {"peterborough-ilacs-2023", "peterborough-monitoring-visit-2025"}
    assert manifest["libraries"]["faiss-cpu"] != "absent"
    assert manifest["paragraphs"] == 64 + 21


def test_reindexing_unchanged_reports_embeds_nothing(tmp_path: Path, models) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_LETTER, corpus)
    first = build([corpus], tmp_path / "index", models)
    assert first.embedded == 21
    again = build([corpus], tmp_path / "index", models)
    assert again.embedded == 0 and again.reused == 21
    assert again.reparsed == 0  # same bytes, same parser: the report comes from the old index
    assert again.reports_unchanged == ["peterborough-monitoring-visit-2025"]


def test_changed_report_replaces_its_own_paragraphs_only(tmp_path: Path, models) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_LETTER, corpus)
    shutil.copy(SEED_INSPECTION, corpus)
    build([corpus], tmp_path / "index", models)
    letter = corpus / SEED_LETTER.name
    letter.write_text(letter.read_text().replace("is too limited a resource", "is now a sufficient resource"))
    result = build([corpus], tmp_path / "index", models)
    assert result.reparsed == 1  # only the edited file is parsed again
    assert result.embedded == 1  # only the edited paragraph (p19) is new
    index = Index.load(tmp_path / "index")
    assert "now a sufficient resource" in index.paragraphs[("peterborough-monitoring-visit-2025", "p19")].text
    assert len(index.paragraphs) == 85


def test_crash_mid_index_leaves_previous_index_serving(tmp_path: Path, models) -> None:  # type: ignore[no-untyped-def]
    build([SEED_LETTER], tmp_path / "index", models)
    before = Index.load(tmp_path / "index")

    class Crashing(Embedder):
        def embed_documents(self, texts, progress=None):  # type: ignore[no-untyped-def]
            raise MemoryError("simulated crash while embedding")

    crashing = Crashing()
    crashing.__dict__["model"] = models[0].model
    with pytest.raises(MemoryError):
        build([SEED_INSPECTION], tmp_path / "index", (crashing, models[1]))
    after = Index.load(tmp_path / "index")
    assert after.path == before.path
    assert set(after.reports) == {"peterborough-monitoring-visit-2025"}


def test_bad_file_in_batch_is_reported_and_the_rest_indexed(tmp_path: Path, models) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7 truncated")
    result = build([bad, SEED_LETTER], tmp_path / "index", models)
    assert len(result.failures) == 1 and "broken.pdf" in result.failures[0]
    assert set(result.index.reports) == {"peterborough-monitoring-visit-2025"}


def test_same_report_as_text_and_pdf_counts_once(tmp_path: Path, models) -> None:  # type: ignore[no-untyped-def]
    result = build([SEED_INSPECTION, PDF_INSPECTION], tmp_path / "index", models)
    index = result.index
    assert list(index.reports) == ["peterborough-inspection-2024-01-30"]
    assert index.aliases == {"peterborough-ilacs-2023": "peterborough-inspection-2024-01-30"}
    assert index.resolve_id("peterborough-ilacs-2023") == "peterborough-inspection-2024-01-30"
    assert index.report("Peterborough-ILACS-2023").paragraph("11").page == 3


def test_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="Build one with: ofsted-qa index"):
        Index.load(tmp_path / "nothing")


def test_filters_apply_identically_to_both_branches(engine) -> None:  # type: ignore[no-untyped-def]
    index = engine.index
    question = "emergency duty team capacity out of hours"
    vector = engine.embedder.embed_query(question)
    only_letter = Filters(kind="monitoring visit")
    mask = index.mask(only_letter)
    dense = index.search_dense(vector, 50, mask)
    sparse = index.search_bm25(question, 50, mask)
    assert dense and sparse
    assert {h.chunk.document_id for h in dense} == {"peterborough-monitoring-visit-2025"}
    assert {h.chunk.document_id for h in sparse} == {"peterborough-monitoring-visit-2025"}
    fused = index.search(question, vector, filters=only_letter)
    assert {h.chunk.document_id for h in fused} == {"peterborough-monitoring-visit-2025"}
    unfiltered = index.search(question, vector)
    assert "peterborough-ilacs-2023" in {h.chunk.document_id for h in unfiltered[:10]}


def test_date_and_section_filters(engine) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    index = engine.index
    assert not index.mask(Filters(since=dt.date(2026, 1, 1))).any()
    early = index.mask(Filters(until=dt.date(2024, 6, 1)))
    assert {c.document_id for c, m in zip(index.chunks, early, strict=True) if m} == {"peterborough-ilacs-2023"}
    leavers = index.mask(Filters(section="care leavers"))
    assert {c.paragraph for c, m in zip(index.chunks, leavers, strict=True) if m} == {str(i) for i in range(32, 45)}


def test_fuse_ranks_by_reciprocal_rank_and_dedupes_paragraphs(engine) -> None:  # type: ignore[no-untyped-def]
    from indexer.models import Hit

    chunks = engine.index.chunks
    a, b, c = chunks[10], chunks[11], chunks[12]
    dense = [Hit(chunk=a, score=0.9, branch="dense"), Hit(chunk=b, score=0.8, branch="dense")]
    sparse = [Hit(chunk=b, score=9, branch="bm25"), Hit(chunk=c, score=5, branch="bm25")]
    fused = fuse([dense, sparse], rrf_k=60)
    assert [h.chunk.paragraph for h in fused] == [b.paragraph, a.paragraph, c.paragraph]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert np.isclose(fused[1].score, 1 / 61)
