"""Request dependencies: the engine held by the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.engine import Engine
from indexer.store import Index


def get_engine(request: Request) -> Engine:
    """Return the app's engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_index(request: Request) -> Index:
    """Return the loaded index, or raise the 503 error that says how to build one."""
    return get_engine(request).require_index()


EngineDep = Annotated[Engine, Depends(get_engine)]
IndexDep = Annotated[Index, Depends(get_index)]
