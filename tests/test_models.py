"""The question road (onnxruntime + the model's tokenizer) gives what sentence-transformers gives on the same files."""

from __future__ import annotations

import numpy as np

from indexer.embed import QUERY_PREFIX, Embedder, Reranker

QUESTIONS = ["How are care leavers supported?", "Is the MASH effective?", "What did inspectors find about EDT?"]


def test_query_vectors_match_sentence_transformers(models: tuple[Embedder, Reranker]) -> None:
    embedder, _ = models
    for question in QUESTIONS:
        fast = embedder.embed_query(question)
        reference = embedder.model.encode([QUERY_PREFIX + question], normalize_embeddings=True)[0]
        assert fast.shape == (384,)
        assert abs(float(np.linalg.norm(fast)) - 1.0) < 1e-5
        assert float(fast @ reference) > 0.99999


def test_reranker_matches_sentence_transformers_cross_encoder(models: tuple[Embedder, Reranker]) -> None:
    _, reranker = models
    passages = [
        "Care leavers are well supported by personal advisers who know them well.",
        "The emergency duty team responds to concerns out of hours.",
        "word " * 400,  # longer than the 256-token limit: both roads truncate the same way
    ]
    for question in QUESTIONS:
        fast = reranker.score(question, passages)
        reference = reranker.model.predict([(question, p) for p in passages], batch_size=1, show_progress_bar=False)
        assert np.allclose(fast, np.asarray(reference, dtype=np.float64).reshape(-1), atol=1e-5)
    relevant, unrelated, _ = reranker.score(QUESTIONS[0], passages)
    assert relevant > 0.5 > unrelated


def test_a_passage_gets_the_same_vector_whatever_it_is_indexed_with(models: tuple[Embedder, Reranker]) -> None:
    embedder, _ = models
    assert embedder.batch_size == 1  # the default: the int8 model scales activations per batch
    alone = embedder.embed_documents(["Care leavers are well supported by personal advisers."])[0]
    together = embedder.embed_documents(
        [
            "A much longer passage about the multi-agency safeguarding hub " * 5,
            "Care leavers are well supported by personal advisers.",
        ]
    )[1]
    assert np.array_equal(alone, together)


def test_threaded_embedding_gives_the_same_vectors_in_order(models: tuple[Embedder, Reranker]) -> None:
    embedder, _ = models
    texts = [f"Paragraph {i}: care leavers have {i} personal advisers and a local offer." for i in range(300)]
    seen: list[int] = []
    threaded = Embedder(workers=3, folder=embedder.folder).embed_documents(texts, progress=seen.append)
    assert threaded.shape == (300, 384)
    one_by_one = np.stack([embedder.embed_documents([t])[0] for t in texts[::37]])
    assert np.array_equal(threaded[::37], one_by_one)
    assert seen == [256, 300]


def test_threaded_reranking_gives_the_same_scores_in_order(models: tuple[Embedder, Reranker], tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, reranker = models
    passages = [
        f"Inspectors found that {topic} had improved since the last visit."
        for topic in (
            "care leavers' accommodation",
            "the MASH",
            "the emergency duty team",
            "private fostering",
            "return home interviews",
            "supervision",
            "early help",
        )
    ]
    alone = Reranker(reranker.cache_dir, workers=1).score("How is the MASH doing?", passages)
    together = Reranker(reranker.cache_dir, workers=3).score("How is the MASH doing?", passages)
    assert together == alone
    assert max(range(len(passages)), key=lambda i: together[i]) == 1  # the MASH passage, in its own place


def test_passages_embed_without_sentence_transformers_as_with_it(
    models: tuple[Embedder, Reranker], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The slim image has no torch, hence no sentence-transformers: `ofsted-qa index` takes the onnxruntime road."""
    import importlib.util

    embedder, _ = models
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sentence_transformers" else find_spec(name, *a)
    )
    slim = Embedder(folder=embedder.folder)
    assert slim.document_model is not None
    texts = ["Care leavers are well supported by personal advisers.", "word " * 600, "The MASH is effective. " * 20]
    fast, reference = slim.embed_documents(texts), embedder.embed_documents(texts)
    assert fast.shape == (3, 384)
    assert np.allclose(fast, reference, atol=1e-6)
    assert "model" not in vars(slim)  # sentence-transformers was never loaded
