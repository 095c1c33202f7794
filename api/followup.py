"""Follow-up questions resolved from the conversation, without an LLM.

"And what about care leavers?", "Why?", "Is that better than in 2023?", "And in Camden?" leave out what the
previous turn said. A follow-up is recognised by how it starts ("and", "what about", "why", "is that"…) or by
being short with a pronoun; it is then asked together with the previous question, so the authority, report
and topic carry forward. When it names another authority, the previous question's authority is swapped for
it. When it asks about the same thing ("why?", "tell me more", "is that better…"), the paragraphs the previous
answer cited are reranked as candidates too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.authorities import find_authorities, normalise_name
from indexer.models import Turn
from indexer.store import tokenize

_STARTS = re.compile(
    r"^\s*(?:and|but|so|also|what about|how about|what of|why|how come|is that|was that|has that|has it|is it"
    r"|are they|were they|did (?:that|it|they)|does that|what else|tell me more|more about|anything else|same for"
    r"|how does that|how do they|then|what happened)\b",
    re.I,
)
_SAME_TOPIC = re.compile(
    r"^\s*(?:why|how come|tell me more|more about (?:that|this|it)|what else|anything else|is that|was that"
    r"|has that|has it|is it|did (?:that|it|they)|does that|how does that)\b|\b(?:that|this|it)\b\W*$",
    re.I,
)
_PRONOUN = re.compile(r"\b(?:that|this|it|they|them|those|these|there|its|their|then)\b", re.I)


_GENERIC = frozenset(tokenize("inspectors inspection report ofsted find found think thought happen happened else more"))


@dataclass(frozen=True)
class Resolved:
    """The question to answer, after the conversation is taken into account."""

    question: str
    followup: bool = False
    authority: str | None = None  # the authority the conversation is about, when the question names none
    carried: list[tuple[str, str]] = field(default_factory=list)  # previous citations, reranked as candidates


def is_followup(question: str) -> bool:
    """Return whether a question leans on the previous turn rather than standing alone."""
    words = tokenize(question)
    if _STARTS.search(question) and len(words) <= 8:
        return True
    topical = [w for w in words if w not in _GENERIC]
    return not topical or (bool(_PRONOUN.search(question)) and len(words) <= 4)


def _without_authorities(text: str) -> str:
    out = text
    for la in find_authorities(text):
        for name in sorted({la.name, *la.aliases}, key=len, reverse=True):
            out = re.sub(rf"\b{re.escape(name)}(?:'s|\u2019s)?\b", " ", out, flags=re.I)
    return re.sub(r"\s+", " ", out).strip()


_WHEN = re.compile(
    r"\b(?:(?:the|its|their) )?(?:(?:20[0-3]\d) (?:inspection|monitoring visit|focused visit)|(?:at|in|during) "
    r"(?:the )?(?:20[0-3]\d|(?:last|latest|most recent) (?:inspection|visit)))\b,?",
    re.I,
)


def conversation_authority(history: list[Turn]) -> str | None:
    """Return the authority the latest turn that names one was about (by name, else by what it cited)."""
    for turn in reversed(history):
        named = find_authorities(turn.question)
        if named:
            return named[0].name
    return None


def resolve_followup(question: str, history: list[Turn]) -> Resolved:
    """Return the question as asked in context: alone when it stands alone, else joined to the previous turn.

    A question that stands alone but names no authority keeps the conversation's authority ('how are
    unaccompanied children looked after there?').
    """
    if not history:
        return Resolved(question)
    names_now = {normalise_name(la.name) for la in find_authorities(question)}
    if not is_followup(question):
        return Resolved(question, authority=None if names_now else conversation_authority(history))
    previous = history[-1]
    names_before = {normalise_name(la.name) for la in find_authorities(previous.question)}
    context = previous.question
    if names_now and names_now != names_before:
        # 'And in Camden?': the topic carries, not the place nor the year of the other authority's report
        context = _WHEN.sub(" ", _without_authorities(previous.question))
    carried = (
        [(c.document_id, c.paragraph) for c in previous.citations]
        if _SAME_TOPIC.search(question) and not names_now
        else []
    )
    return Resolved(f"{context} {question}", followup=True, carried=carried)
