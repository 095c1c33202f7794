"""Citation checks: every cited paragraph was retrieved, exists, and supports the sentence that cites it."""

from __future__ import annotations

import re

from indexer.models import Answer, Citation, Sentence, join_sentences, renumbered
from indexer.parse import GRADES
from indexer.store import Index


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _prints(table: str, grade: str) -> bool:
    # the 2015 framework printed 'Requires improvement' for what is now 'Requires improvement to be good'
    if grade == "requires improvement to be good":
        return re.search(r"\brequires? improvement\b", table) is not None
    return grade in table


def supports(sentence: str, citation: Citation) -> bool:
    """Return whether a cited paragraph supports a sentence.

    An extractive sentence must occur verbatim in the paragraph; a grade sentence must name a grade that the
    cited judgement table prints.
    """
    s, text = _norm(sentence), _norm(citation.text)
    if s.rstrip(".") in text:
        return True
    if citation.paragraph == "judgements":
        missing = re.search(r"gave no grade for (.+?)\.?$", s)
        if missing:  # absence: the table must not print that area
            return missing.group(1) not in text
        grades = [g.lower() for g in GRADES if re.search(rf"\bjudged {re.escape(g.lower())}\b", s)]
        return bool(grades) and all(_prints(text, g) for g in grades)
    return False


def verify_citations(answer: Answer, index: Index, retrieved: set[tuple[str, str]]) -> Answer:
    """Return the answer keeping only sentences whose citations were retrieved, exist and support them."""
    if not answer.answerable:
        return answer
    kept: list[Sentence] = []
    for sentence in answer.sentences:
        good = []
        for i in sentence.citations:
            c = answer.citations[i]
            key = (c.document_id, c.paragraph)
            paragraph = index.paragraphs.get(key)
            if key in retrieved and paragraph is not None and paragraph.text == c.text and supports(sentence.text, c):
                good.append(i)
        if good:
            kept.append(sentence.model_copy(update={"citations": good}))
    kept, citations = renumbered(kept, answer.citations)
    return answer.model_copy(
        update={
            "sentences": kept,
            "citations": citations,
            "answer": join_sentences(kept),
            "answerable": bool(kept),
        }
    )
