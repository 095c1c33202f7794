"""Acronyms the reports define themselves: 'female genital mutilation (FGM)' → FGM means female genital mutilation.

Read from the indexed paragraphs (corpus usage), so a question's acronym is understood when any report spells it
out, even where the report in scope uses only the long form. Pure functions; the index caches the table.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# up to eight words, then the acronym in brackets: 'multi-agency safeguarding hub (MASH)', 'personal advisers (PAs)'
_DEFINED = re.compile(r"((?:[A-Za-z'\u2019-]+[ ,]+){1,8})\(([A-Z][A-Za-z&]{1,7})\)")
_LINKING = frozenset({"and", "of", "the", "for", "in", "to", "with", "on", "a", "an", "at", "by"})


def _initials(words: list[str]) -> str:
    parts = [p for w in words for p in re.split(r"[-'\u2019]", w) if p]
    return "".join(p[0].upper() for p in parts if p.lower() not in _LINKING)


def defined_acronyms(texts: Iterable[str]) -> dict[str, str]:
    """Return acronym → its most frequent spelled-out form, where the words before a bracketed acronym have its
    capitals as their initials ('electively home educated (EHE)'). A plural acronym ('PAs') is kept as printed."""
    seen: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for m in _DEFINED.finditer(text):
            acronym = m.group(2)
            capitals = "".join(c for c in acronym if c.isupper())
            words = re.findall(r"[A-Za-z'\u2019-]+", m.group(1))
            for k in range(1, min(len(words), len(capitals) + 3) + 1):  # the shortest run that fits
                if len(capitals) >= 2 and _initials(words[-k:]) == capitals:
                    seen[(acronym, " ".join(words[-k:]).lower())] += 1
                    break
    best: dict[str, tuple[int, str]] = {}
    for (acronym, long_form), n in seen.items():
        if acronym not in best or n > best[acronym][0]:
            best[acronym] = (n, long_form)
    return {acronym: long_form for acronym, (_, long_form) in best.items()}
