"""The social-care glossary: acronyms and synonyms, and the query expansion that uses them."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from indexer.settings import PACKAGE_DATA
from indexer.store import tokenize

GLOSSARY = PACKAGE_DATA / "glossary.json"


class Term(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str = Field(description="The acronym or headword as reports write it, e.g. 'MASH'.")
    expansion: str = Field(description="The full form, e.g. 'multi-agency safeguarding hub'.")
    synonyms: list[str] = Field(default_factory=list, description="Other ways people say it.")
    meaning: str = Field(description="One plain-English line.")
    source: str = Field(description="Where the definition comes from.")
    named: bool = Field(
        default=False,
        description="A named programme, scheme or service ('Staying Close'), or a topic reports always name when they "
        "cover it ('young carers', 'private fostering'): a report that never names it does not report on it, so a "
        "question naming it is not answered from that report's nearby paragraphs.",
    )


@cache
def load_glossary(path: Path = GLOSSARY) -> tuple[Term, ...]:
    """Return the curated glossary entries."""
    if not path.exists():
        return ()
    return tuple(Term.model_validate(item) for item in json.loads(path.read_text(encoding="utf-8")))


def _is_acronym(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Z][A-Z0-9&/-]{1,7}s?", text))


@cache
def _needle(phrase: str) -> tuple[str, ...]:
    return tuple(tokenize(phrase))


def _occurs(phrase: str, question: str, question_tokens: list[str]) -> bool:
    """Acronyms match case-sensitively as words; other phrases match as stemmed token sequences."""
    if _is_acronym(phrase):
        return re.search(rf"\b{re.escape(phrase)}s?\b", question) is not None
    needle = list(_needle(phrase))
    if not needle:
        return False
    if len(needle) < len(re.findall(r"[A-Za-z0-9]+", phrase)):
        # a phrase with a stop word ('in care') must occur as written, or its bare content word ('care') would
        # match every question that uses it
        return re.search(rf"\b{re.escape(phrase.lower())}\b", question.lower()) is not None
    n = len(needle)
    return any(question_tokens[i : i + n] == needle for i in range(len(question_tokens) - n + 1))


def matched_terms(question: str, glossary: tuple[Term, ...] | None = None) -> list[Term]:
    """Return the glossary entries whose term, expansion or a synonym occurs in the question."""
    entries = load_glossary() if glossary is None else glossary
    tokens = tokenize(question)
    return [t for t in entries if any(_occurs(p, question, tokens) for p in (t.term, t.expansion, *t.synonyms))]


def expand_query(question: str, glossary: tuple[Term, ...] | None = None) -> str:
    """Return the question followed by the terms and expansions of the glossary entries it mentions."""
    extra: list[str] = []
    for term in matched_terms(question, glossary):
        for phrase in (term.term, term.expansion):
            if phrase.lower() not in question.lower() and phrase not in extra:
                extra.append(phrase)
    return f"{question} ({'; '.join(extra)})" if extra else question
