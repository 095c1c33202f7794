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


# what is left of 'And in Brent?', 'How does that compare with Brent's?' or 'Is Brent's any better?' once the
# authority is taken out: nothing of a topic, so the previous question is asked again of the new authority
_ELLIPSIS = frozenset(
    tokenize(
        "and but so also what about how of in for at with does do that this it compare compared comparison is are "
        "any better worse same there then too as well like"
    )
)


def _possessive_alone(question: str) -> bool:
    """Return whether an authority's possessive has no noun after it ('Is Brent's any better?')."""
    for la in find_authorities(question):
        for name in (la.name, *la.aliases):
            if re.search(
                rf"\b{re.escape(name)}(?:'s|\u2019s)\s*(?:[?.!]|$|any\b|better\b|worse\b|too\b)", question, re.I
            ):
                return True
    return False


def only_authority(question: str) -> bool:
    """Return whether a follow-up names an authority and nothing else of a topic ('And in Brent?')."""
    if not find_authorities(question):
        return False
    return not [w for w in tokenize(_without_authorities(question)) if w not in _ELLIPSIS]


def is_followup(question: str) -> bool:
    """Return whether a question leans on the previous turn rather than standing alone."""
    if _possessive_alone(question):
        return True
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
    r"\b(?:(?:at|in|during) )?(?:(?:the|its|their) )?(?:20[0-3]\d(?: (?:inspection|monitoring visit|focused visit))?"
    r"|(?:last|latest|most recent) (?:inspection|visit))\b,?",
    re.I,
)
_NAMED_REPORT = re.compile(r"\b(20[0-3]\d) (inspection|monitoring visit|focused visit)\b", re.I)
_SINCE_THEN = re.compile(r"\bsince (?:then|that (?:inspection|visit|report|time))\b", re.I)


def since_named(question: str, history: list[Turn]) -> str:
    """Return the question with 'since then' naming the report the conversation named last ('since the 2023
    inspection'), so that it is answered from that report and the ones after; unchanged otherwise."""
    if not _SINCE_THEN.search(question):
        return question
    for turn in reversed(history):
        named = _NAMED_REPORT.findall(turn.question)
        if named:
            year, kind = named[-1]
            return _SINCE_THEN.sub(f"since the {year} {kind.lower()}", question)
    return question


def _swap_authority(previous: str, question: str) -> str:
    """Return the previous question with its authority replaced by the one the follow-up names (appended when
    it named none), less the year of the other authority's report."""
    new = find_authorities(question)[0].name
    if not find_authorities(previous):
        return f"{previous.rstrip(' ?')} in {new}?"
    out = previous
    for la in find_authorities(previous):
        for name in sorted({la.name, *la.aliases}, key=len, reverse=True):
            out = re.sub(rf"\b{re.escape(name)}(?=(?:'s|\u2019s)?\b)", new, out, flags=re.I)
    return re.sub(r"\s+", " ", _WHEN.sub(_unnamed, out)).strip()


def _unnamed(m: re.Match[str]) -> str:
    # 'What did the 2025 monitoring visit say' → 'What did the report say'; 'At the 2023 inspection, how…' → 'how…'
    return " " if re.match(r"(?:at|in|during)\b", m.group(0), re.I) else " the report "


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
    question = since_named(question, history)
    names_now = {normalise_name(la.name) for la in find_authorities(question)}
    if not is_followup(question):
        return Resolved(question, authority=None if names_now else conversation_authority(history))
    previous = history[-1]
    names_before = {normalise_name(la.name) for la in find_authorities(previous.question)}
    context = previous.question
    if names_now and names_now != names_before and only_authority(question):
        # 'And in Brent?': the previous question asked again of Brent, in its own words
        return Resolved(_swap_authority(previous.question, question), followup=True)
    if names_now and names_now != names_before:
        # 'And in Camden?': the topic carries, not the place nor the year of the other authority's report
        context = _WHEN.sub(" ", _without_authorities(previous.question))
    carried = (
        [(c.document_id, c.paragraph) for c in previous.citations]
        if _SAME_TOPIC.search(question) and not names_now
        else []
    )
    return Resolved(f"{context} {question}", followup=True, carried=carried)
