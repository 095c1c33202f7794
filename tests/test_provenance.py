"""Word lists carry their provenance, and none was written from the sealed test split."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from eval.dataset import load_questions
from indexer.glossary import load_glossary
from indexer.settings import PACKAGE_DATA

EVAL = Path(__file__).resolve().parent.parent / "eval"
SETS = sorted(EVAL.glob("*.jsonl")) + sorted(EVAL.glob("dev_extra/*.jsonl")) + sorted(EVAL.glob("test/*.jsonl"))


def _pattern(phrase: str) -> re.Pattern[str]:
    words = re.findall(r"[A-Za-z0-9']+", phrase)
    return re.compile(r"\b" + r"[\s-]+".join(re.escape(w) for w in words) + r"(?:s|es)?(?:'s|')?(?![\w'])", re.I)


def _questions() -> list[tuple[str, str, str]]:
    """Return (id, split, text) of every evaluation question, the turns of a conversation included."""
    out = []
    for path in SETS:
        if path.name == "findings_topics.jsonl":
            continue
        for q in load_questions(path):
            out.append((q.id, q.split, " ".join([q.question, *(t.question for t in q.history)])))
    return out


def test_every_remit_phrase_names_where_it_came_from() -> None:
    remit = json.loads((PACKAGE_DATA / "remit.json").read_text())
    assert remit["children"]["provenance"] == "general usage"
    for entry in remit["outside"]:
        assert entry["provenance"] in {"general usage", "corpus usage"} or entry["provenance"].startswith("dev:")


def test_every_authority_alias_names_where_it_came_from() -> None:
    data = json.loads((PACKAGE_DATA / "authority_aliases.json").read_text())
    assert data["aliases"] and all(entry["provenance"].strip() for entry in data["aliases"])
    assert data["everyday_words"] and all(entry["provenance"].strip() for entry in data["everyday_words"])


def test_every_glossary_term_names_its_source() -> None:
    assert all(term.source.strip() for term in load_glossary())


def test_no_word_list_entry_matches_test_questions_only() -> None:
    questions = _questions()
    assert any(split == "test" for _, split, _ in questions)  # the sealed split is read by this check
    remit = json.loads((PACKAGE_DATA / "remit.json").read_text())
    phrases = [entry["phrase"] for entry in remit["outside"]]
    phrases += [form for term in load_glossary() for form in (term.term, *term.synonyms)]
    aliases = json.loads((PACKAGE_DATA / "authority_aliases.json").read_text())["aliases"]
    phrases += [entry["alias"] for entry in aliases]
    sealed = json.loads((EVAL / "test" / "sealed.json").read_text())
    before_seal = set(sealed["glossary_forms_before_seal"])
    only_test = []
    for phrase in phrases:
        if hashlib.sha256(phrase.lower().encode()).hexdigest()[:16] in before_seal:
            continue  # written before the test split existed: it cannot have been written from it
        pattern = _pattern(phrase)
        splits = {split for _, split, text in questions if pattern.search(text)}
        if splits == {"test"}:
            only_test.append(phrase)
    assert only_test == []
