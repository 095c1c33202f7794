"""Plain-text templates the answerer speaks with; `load(name)` returns one. The refusal sentence lives here.

The LLM answerer's prompts are versioned files, `llm_system.VERSION.txt`, `llm_answer.VERSION.txt` and
`llm_condense.VERSION.txt`, loaded as LangChain chat prompt templates (f-string format: literal braces are doubled).
Change a prompt by adding the next version, so that every answer's recorded version names the text it was made with.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.prompts import ChatPromptTemplate

_DIR = Path(__file__).resolve().parent


@cache
def load(name: str) -> str:
    """Return the template `name` (a .txt file in this folder), without its trailing newline."""
    return (_DIR / f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")


def _versioned(name: str, version: str) -> str:
    path = _DIR / f"llm_{name}.{version}.txt"
    if not path.is_file():
        known = sorted({p.name.split(".")[1] for p in _DIR.glob("llm_*.v*.txt")})
        raise FileNotFoundError(
            f"No prompt {path.name} in {_DIR}. Set OFSTED_QA_LLM__PROMPT_VERSION to one of: {', '.join(known)}."
        )
    return load(f"llm_{name}.{version}")


def answer_prompt(version: str) -> ChatPromptTemplate:
    """Return the answer prompt of a version: the system rules, then the paragraphs and the question."""
    from langchain_core.prompts import ChatPromptTemplate

    return ChatPromptTemplate.from_messages(
        [("system", _versioned("system", version)), ("human", _versioned("answer", version))]
    )


def condense_prompt(version: str) -> ChatPromptTemplate:
    """Return the prompt that rewrites a follow-up and its conversation into one standalone question."""
    from langchain_core.prompts import ChatPromptTemplate

    return ChatPromptTemplate.from_messages([("human", _versioned("condense", version))])


@cache
def prompt_sha256(version: str) -> str:
    """Return the first 12 hex digits of the hash of a version's prompt files, recorded beside the version."""
    h = hashlib.sha256()
    for name in ("system", "answer", "condense"):
        h.update(_versioned(name, version).encode())
    return h.hexdigest()[:12]
