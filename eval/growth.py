"""Growth benchmark: exact FAISS against HNSW, and BM25, at sizes beyond one corpus (synthetic, from real data).

Embedding 1e6 real paragraphs would take hours, so the vectors are real national-index vectors plus noise
(each synthetic paragraph is a perturbed copy of a real one: the clusters of real reports survive), and the
texts are real chunks' token lists recombined. Queries are the evaluation questions, really embedded.
Query time is one question at a time, as the server asks; memory is the serialised index size.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.metrics import percentile


def synthetic_vectors(base: np.ndarray[Any, Any], n: int, rng: np.random.Generator, noise: float = 0.35) -> Any:
    """Return n unit vectors, each a real vector plus Gaussian noise of about `noise` in norm."""
    d = base.shape[1]
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        rows = base[rng.integers(0, len(base), m)] + rng.normal(0, noise / np.sqrt(d), (m, d)).astype(np.float32)
        out[start : start + m] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return out


def synthetic_texts(tokens: list[list[str]], n: int, rng: np.random.Generator) -> list[list[str]]:
    """Return n token lists, each the first half of one real chunk and the second half of another."""
    a, b = rng.integers(0, len(tokens), n), rng.integers(0, len(tokens), n)
    return [
        tokens[i][: len(tokens[i]) // 2] + tokens[j][len(tokens[j]) // 2 :] or ["_"] for i, j in zip(a, b, strict=True)
    ]


def _timed(fn: Any, queries: Any) -> list[float]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def bench_dense(vectors: Any, queries: Any, k: int = 10) -> list[dict[str, Any]]:
    """Return build time, memory, query p50/p95 and recall@k (against exact) for flat and HNSW indexes."""
    import faiss

    d = vectors.shape[1]
    rows = []
    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(d)
    flat.add(vectors)
    build = time.perf_counter() - t0
    exact = [set(flat.search(q.reshape(1, -1), k)[1][0].tolist()) for q in queries]
    lat = _timed(lambda q: flat.search(q.reshape(1, -1), k), queries)
    rows.append(
        {
            "index": "flat (exact)",
            "build_s": round(build, 1),
            "memory_mb": round(faiss.serialize_index(flat).nbytes / 2**20, 1),
            "p50_ms": round(statistics.median(lat), 2),
            "p95_ms": round(percentile(lat, 95), 2),
            "recall_at_10": 1.0,
        }
    )
    flat.reset()  # free its memory before HNSW is built
    t0 = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    hnsw.add(vectors)
    build = time.perf_counter() - t0
    memory = round(faiss.serialize_index(hnsw).nbytes / 2**20, 1)
    for ef in (32, 64, 128):
        hnsw.hnsw.efSearch = ef
        found = [set(hnsw.search(q.reshape(1, -1), k)[1][0].tolist()) for q in queries]
        lat = _timed(lambda q: hnsw.search(q.reshape(1, -1), k), queries)
        rows.append(
            {
                "index": f"HNSW M=32 efSearch={ef}",
                "build_s": round(build, 1),
                "memory_mb": memory,
                "p50_ms": round(statistics.median(lat), 2),
                "p95_ms": round(percentile(lat, 95), 2),
                "recall_at_10": round(float(np.mean([len(f & e) / k for f, e in zip(found, exact, strict=True)])), 4),
            }
        )
    return rows


def bench_bm25(texts: list[list[str]], queries: list[list[str]]) -> dict[str, Any]:
    """Return BM25 index time, memory and query p50/p95 (scores over every document, as the server does)."""
    import bm25s

    t0 = time.perf_counter()
    model = bm25s.BM25()
    model.index(texts, show_progress=False)
    build = time.perf_counter() - t0
    scores = model.scores
    memory = sum(np.asarray(v).nbytes for v in scores.values() if hasattr(v, "nbytes")) / 2**20
    lat = _timed(lambda q: model.get_scores(q), queries)
    return {
        "index": "BM25 (bm25s)",
        "build_s": round(build, 1),
        "memory_mb": round(memory, 1),
        "p50_ms": round(statistics.median(lat), 2),
        "p95_ms": round(percentile(lat, 95), 2),
    }


def run_growth(index_dir: Path, sizes: list[int], out: Path, seed: int = 7) -> str:
    """Run the growth benchmark on vectors and chunks of an existing index; write growth.json and growth.md."""
    from eval.dataset import DEFAULT_SET, load_questions
    from eval.report import git_commit
    from indexer.embed import Embedder
    from indexer.store import Index, tokenize

    index = Index.load(index_dir)
    rng = np.random.default_rng(seed)
    questions = [q.question for q in load_questions(DEFAULT_SET)]
    national = Path(__file__).resolve().parent / "national_questions.jsonl"
    if national.exists():
        questions += [q.question for q in load_questions(national)]
    query_vectors = Embedder().embed_documents(questions)
    query_tokens = [tokenize(q) or ["_"] for q in questions]
    chunk_tokens = [tokenize(c.text) for c in index.chunks]
    results: list[dict[str, Any]] = []
    for n in sizes:
        vectors = synthetic_vectors(index.vectors, n, rng)
        for row in bench_dense(vectors, query_vectors):
            results.append({"paragraphs": n, **row})
        del vectors
        results.append({"paragraphs": n, **bench_bm25(synthetic_texts(chunk_tokens, n, rng), query_tokens)})
    out.mkdir(parents=True, exist_ok=True)
    payload = {"commit": git_commit(), "queries": len(questions), "base_index": str(index_dir), "results": results}
    (out / "growth.json").write_text(json.dumps(payload, indent=2))
    lines = [
        "| paragraphs | index | build s | memory MB | p50 ms | p95 ms | recall@10 |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['paragraphs']:,} | {r['index']} | {r['build_s']} | {r['memory_mb']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r.get('recall_at_10', '–')} |"
            for r in results
        ),
    ]
    table = "\n".join(lines)
    (out / "growth.md").write_text(table + "\n")
    return table
