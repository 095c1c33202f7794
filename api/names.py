"""Understand: names, acronyms and named programmes a question uses that no report in scope uses (refused)."""

from __future__ import annotations

import re
import weakref
from functools import cache

from api.scope import Scope
from indexer.acronyms import defined_acronyms
from indexer.authorities import find_authorities
from indexer.glossary import Term, load_glossary
from indexer.store import Index, plain_words_of

_ACRONYM = re.compile(r"\b[A-Z](?:[A-Z0-9]|&[A-Z]){1,6}s?\b")


@cache
def glossary_words() -> frozenset[str]:
    """Return every term and synonym in the glossary, lower-cased ('S47' is 's47'; built once, not per question)."""
    return frozenset(
        {t.term.lower() for t in load_glossary()} | {s.lower() for t in load_glossary() for s in t.synonyms}
    )


_DEFINED: weakref.WeakKeyDictionary[Index, dict[str, str]] = weakref.WeakKeyDictionary()


def index_acronyms(index: Index) -> dict[str, str]:
    """Return the acronyms the indexed reports spell out ('FGM' → 'female genital mutilation'), read once per index."""
    if index not in _DEFINED:
        _DEFINED[index] = defined_acronyms(p.text for p in index.paragraphs.values())
    return _DEFINED[index]


def spelled_out(word: str, index: Index) -> str | None:
    """Return what an acronym stands for where some indexed report spells it out ('PAs' as 'PA' too), else None."""
    table = index_acronyms(index)
    return table.get(word) or table.get(word.rstrip("s")) or table.get(word + "s")


def expand_acronyms(question: str, index: Index) -> str:
    """Return the question followed by what its acronyms stand for, where the reports spell them out and the
    question does not ('FGM' → '(female genital mutilation)'); unchanged when there are none."""
    extra = []
    for m in _ACRONYM.finditer(question):
        long_form = spelled_out(m.group(0), index)
        if long_form and long_form not in question.lower() and long_form not in extra:
            extra.append(long_form)
    return f"{question} ({'; '.join(extra)})" if extra else question


def unknown_acronyms(question: str, index: Index) -> list[str]:
    """Return acronyms in the question that neither the indexed reports (as written or spelled out) nor the glossary
    know ('GCSE', 'NHS').

    The reports cannot answer a question about something they never name; the glossary maps the acronyms
    they name in full (LADO → allegations against adults) so those still count as known.
    """
    known = glossary_words()
    out = []
    for m in _ACRONYM.finditer(question):
        word = m.group(0).rstrip("s") if m.group(0).endswith("s") and len(m.group(0)) > 2 else m.group(0)
        if word.lower() in known or word in {"I", "OK"} or len(word) < 2 or spelled_out(word, index):
            continue
        if not index.contains_word(word):
            out.append(word)
    return out


_NAME_WORD = re.compile(r"(?<![.?!:]\s)(?<!^)(?<!&)\b(?:[A-Z][a-z]+(?:-[A-Z][a-z]+)*|[A-Z][A-Z0-9]{1,6})\b")


NOT_A_NAME = frozenset(
    "January February March April May June July August September October November December Monday Tuesday "
    "Wednesday Thursday Friday Saturday Sunday Ofsted England English UK I OK".split()
)  # 'OK' as in 'without mum and dad's OK': a word, not a service's name (unknown_acronyms skips it too)


def unknown_names(question: str, index: Index, scope: Scope) -> list[str]:
    """Return the names in a question ('the Aspire team', 'WAVE') that no report in scope uses.

    A question about Walsall's Aspire team cannot be answered from Walsall's reports if they never name it,
    however close their paragraphs on exploitation are; the same name in another authority's report does not
    count. A name is a capitalised word after the first or an acronym; authority names, months and glossary
    terms are not names. Names match the reports' words case-insensitively ('Aspire' is also 'aspire').
    """
    authorities = {w for la in find_authorities(question) for n in (la.name, *la.aliases) for w in n.split()}
    candidates = [
        m.group(0)
        for m in _NAME_WORD.finditer(question)
        if m.group(0) not in NOT_A_NAME and m.group(0) not in authorities and m.group(0).lower() not in glossary_words()
    ]
    if not candidates:
        return []
    documents = index.allowed_documents(scope.filters)
    words = {w.lower() for w in index.words_of(documents)}

    def known(name: str) -> bool:  # an acronym counts as named where the reports use what it stands for
        long_form = spelled_out(name, index) if name.isupper() else None
        return all(part.lower() in words for part in name.split("-")) or bool(
            long_form and index.mentions(long_form, documents)
        )

    return [c for c in candidates if not known(c)]


def unmentioned_terms(question: str, index: Index, scope: Scope, limit: int = 40) -> list[str]:
    """Return the named programmes, services and topics a question names as written ('the virtual school', 'Staying
    Close', 'young carers') that no report in scope names in any of their forms (the term, its expansion or a
    synonym). A report that never names the scheme cannot say how it is doing, however near its paragraphs are.
    Only checked for a scope of at most `limit` reports (an authority, a year): across the corpus, every term is
    named somewhere. General concepts ('kinship care') are not checked: a report may describe them in its own words
    ('extended families')."""
    documents = index.allowed_documents(scope.filters)
    if len(documents) > limit:
        return []
    asked = plain_words_of(question)
    terms = [t for t in load_glossary() if t.named and any(plain_words_of(f) in asked for f in _asked_forms(t))]
    if not terms:
        return []
    return [t.term for t in terms if not any(index.mentions(f, documents) for f in (t.term, t.expansion, *t.synonyms))]


def _asked_forms(term: Term) -> list[str]:
    """Return the forms of a term that, written in a question, name it: the term, its expansion and its synonyms
    of two words or more ('privately fostered'; a one-word synonym such as 'mentor' is too loose)."""
    return [term.term, term.expansion, *(s for s in term.synonyms if len(plain_words_of(s).split()) >= 2)]
