"""Acronyms the reports define themselves: 'female genital mutilation (FGM)' → FGM means female genital mutilation.

Read from the indexed paragraphs (corpus usage), so a question's acronym is understood when any report spells it
out, even where the report in scope uses only the long form. Pure functions; the index caches the table.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# an acronym in brackets, and the run of up to eight words just before it: 'multi-agency safeguarding hub (MASH)',
# 'personal advisers (PAs)'; the words are read from the text before the bracket only (fast on 23,000 paragraphs)
_BRACKETED = re.compile(r"\(([A-Z][A-Za-z&]{1,7})\)")
_WORDS_BEFORE = re.compile(r"((?:[A-Za-z'\u2019-]+[ ,]+){1,8})$")
_LOOK_BACK = 240  # characters: more than eight words of report prose
_LINKING = frozenset({"and", "of", "the", "for", "in", "to", "with", "on", "a", "an", "at", "by"})


def _initials(words: list[str]) -> str:
    parts = [p for w in words for p in re.split(r"[-'\u2019]", w) if p]
    return "".join(p[0].upper() for p in parts if p.lower() not in _LINKING)


def defined_acronyms(texts: Iterable[str]) -> dict[str, str]:
    """Return acronym → its most frequent spelled-out form, where the words before a bracketed acronym have its
    capitals as their initials ('electively home educated (EHE)'). A plural acronym ('PAs') is kept as printed."""
    seen: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for m in _BRACKETED.finditer(text):
            before = _WORDS_BEFORE.search(text[max(0, m.start() - _LOOK_BACK) : m.start()])
            if before is None:
                continue
            acronym = m.group(1)
            capitals = "".join(c for c in acronym if c.isupper())
            words = re.findall(r"[A-Za-z'\u2019-]+", before.group(1))
            for k in range(1, min(len(words), len(capitals) + 3) + 1):  # the shortest run that fits
                if len(capitals) >= 2 and _initials(words[-k:]) == capitals:
                    seen[(acronym, " ".join(words[-k:]).lower())] += 1
                    break
    best: dict[str, tuple[int, str]] = {}
    for (acronym, long_form), n in seen.items():
        if acronym not in best or n > best[acronym][0]:
            best[acronym] = (n, long_form)
    return {acronym: long_form for acronym, (_, long_form) in best.items()}
