"""Fixtures: one real index of the bundled reports per test session, and a real server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.engine import Engine
from indexer.embed import Embedder, Reranker
from indexer.settings import PACKAGE_DATA, TRAINED_EMBEDDER, TRAINED_RERANKER, Settings

DATA = Path(__file__).resolve().parent / "data"
SEED_INSPECTION = PACKAGE_DATA / "corpus" / "peterborough-ilacs-2023.txt"
SEED_LETTER = PACKAGE_DATA / "corpus" / "peterborough-monitoring-visit-2025.txt"
PDF_INSPECTION = DATA / "peterborough-inspection-2024-01-30.pdf"


def make_settings(tmp: Path) -> Settings:
    settings = Settings()
    settings.index.dir = tmp / "index"
    settings.index.model_cache_dir = tmp / "models"
    settings.api.feedback_path = tmp / "feedback.jsonl"
    return settings


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Embedder, Reranker]:
    """The real bi-encoder and cross-encoder, loaded once."""
    cache = tmp_path_factory.mktemp("models")
    embedder, reranker = Embedder(folder=TRAINED_EMBEDDER), Reranker(cache, folder=TRAINED_RERANKER)
    embedder.embed_query("warm up")
    reranker.score("warm up", ["warm up"])
    return embedder, reranker


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory, models: tuple[Embedder, Reranker]) -> Engine:
    """An engine over a real index of the two bundled reports (built once per session; do not mutate)."""
    settings = make_settings(tmp_path_factory.mktemp("seed-index"))
    eng = Engine(settings, embedder=models[0], reranker=models[1])
    eng.build([settings.index.corpus_dir], keep_existing=False)
    return eng


HISTORY = [
    "peterborough-inspection-2015-09-18.pdf",
    "peterborough-inspection-2018-08-06.pdf",
    "peterborough-focused-visit-2021-08-02.pdf",
    "peterborough-focused-visit-2023-05-09.pdf",
    "peterborough-inspection-2024-01-30.pdf",
    "luton-focused-visit-2024-09-09.pdf",
    "brent-inspection-2026-06-17.pdf",  # the April 2026 format: four judgements, no overall effectiveness
]


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory, models: tuple[Embedder, Reranker]) -> Engine:
    """A real index of the bundled reports, Peterborough's history as PDFs, Luton's 2024 focused visit (a
    statistical neighbour in the same region) and Brent's 2026 inspection; built once per session, do not mutate."""
    settings = make_settings(tmp_path_factory.mktemp("history"))
    engine = Engine(settings, embedder=models[0], reranker=models[1])
    engine.build([settings.index.corpus_dir, *(DATA / name for name in HISTORY)], keep_existing=False)
    return engine


@pytest.fixture(scope="session")
def history_server(history: Engine) -> Iterator[str]:
    """Base URL of a real server over the history index (PDFs included)."""
    with LiveServer(history, history.settings) as server:
        yield server.url


@pytest.fixture()
def fresh_settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty index directory of the test's own."""
    return make_settings(tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """A real uvicorn server in a thread, on a free loopback port."""

    def __init__(self, engine: Engine | None, settings: Settings, build_default: bool = False) -> None:
        import uvicorn

        from api.main import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(settings, engine=engine, build_default=build_default)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(engine: Engine) -> Iterator[str]:
    """Base URL of a real server over the session index."""
    with LiveServer(engine, engine.settings) as server:
        yield server.url


def engine_with(engine: Engine, tmp: Path, **api: object) -> Engine:
    """An engine sharing the session index and models, with its own API settings (feedback file in tmp)."""
    settings = engine.settings.model_copy(deep=True)
    settings.api.feedback_path = tmp / "feedback.jsonl"
    settings.api.uploads_dir = tmp / "uploads"
    for name, value in api.items():
        setattr(settings.api, name, value)
    return Engine(settings, index=engine.index, embedder=engine.embedder, reranker=engine.reranker)


def engine_copy(engine: Engine, tmp: Path, **api: object) -> Engine:
    """An engine over its own copy of the session index directory (safe to change), sharing the models."""
    import shutil

    from indexer.store import Index

    eng = engine_with(engine, tmp, **api)
    assert engine.settings.index.dir.is_dir()
    shutil.copytree(engine.settings.index.dir, tmp / "index")
    eng.settings.index.dir = tmp / "index"
    eng.index = Index.load(tmp / "index")
    return eng
