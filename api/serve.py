"""Serving: uvicorn over one process, or over N worker processes that each load the index and models."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from api.main import create_app
from indexer.settings import Settings, get_settings

if TYPE_CHECKING:
    from api.engine import Engine


def create_worker_app() -> FastAPI:
    """Return the app for one worker process, its settings read from the environment the parent handed down."""
    return create_app(get_settings(), build_default=False)


def run_server(
    settings: Settings,
    host: str,
    port: int,
    workers: int = 1,
    build_default: bool = True,
    engine: Engine | None = None,
    log_config: dict[str, Any] | None = None,
) -> None:
    """Serve until stopped: in this process when `workers` is 1, else under uvicorn's worker supervisor.

    Every worker holds its own index and models: about 0.25 GB each with the bundled reports, more with a larger
    index (README, Load).
    """
    import uvicorn

    logs: dict[str, Any] = {"log_config": log_config} if log_config is not None else {"log_level": "info"}
    if workers == 1:
        uvicorn.run(create_app(settings, engine=engine, build_default=build_default), host=host, port=port, **logs)
        return
    index_dir = settings.index.dir
    if build_default and not (index_dir / "CURRENT").is_file():
        from api.engine import Engine

        # once, here, rather than raced by N workers building the same directory
        Engine(settings).build([settings.index.corpus_dir])
    # Workers are fresh processes (spawned) that read their settings from the environment, as any setting given
    # there already is; only the index directory can come from the command line, so it goes there too.
    os.environ["OFSTED_QA_INDEX__DIR"] = str(index_dir.resolve())
    uvicorn.run("api.serve:create_worker_app", factory=True, workers=workers, host=host, port=port, **logs)
