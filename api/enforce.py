"""Enforce: check each generated sentence against the paragraphs it cites, before anything is shown.

No entailment model ships in a package here (../shared/MODELS.md), so the check is a set of rules that a
sentence must pass against the union of its cited paragraphs (and the cited reports' names and dates, which the
prompt gave the model):

1. labels: a label that was not among the paragraphs given is removed (`unknown_label`); a sentence left with no
   label fails (`no_citation`).
2. numbers: every number it states (digits, or number words from two up, '95 per cent' = '95%') is stated there.
3. dates: every year and month it names is printed there, or is a date of a cited report.
4. grades: every grade it names (outstanding, good, requires improvement (to be good), inadequate) is printed
   there; 'good' counts as a grade only after judged, rated, graded or as.
5. named services: every acronym and every capitalised word that does not start the sentence ('MASH', 'Family
   Hub') occurs there, or in a cited report's authority or title, or as the glossary's expansion of one that does.
6. negation: the sentence and the cited sentence it shares most words with agree on polarity: both or neither
   hold a negation (not, no, never, n't, without, none, nor, cannot), and no word of the one meets its opposite
   in the other ('effective' / 'ineffective', 'improved' / 'declined').
7. word overlap: at least `llm.min_word_overlap` of its content words occur there.
8. cross-encoder: the best probability of (sentence, cited paragraph) reaches `llm.min_support_score`; it scores
   relevance, not truth (a contradicting sentence still scores high), so it only backs the rules above.

Each failure is recorded as 'rule: detail'. The rules are measured on the adversarial cases in
tests/test_generate.py and on the dev questions by `ofsted-qa eval --systems ofsted-qa-llm` (README).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from indexer.models import Paragraph, Report, SentenceCheck
from indexer.store import tokenize

Scorer = Callable[[str, list[str]], list[float]]


class Evidence(BaseModel):
    """A paragraph given to the model, with its label and what the prompt said of its report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(description="The label the model cites it by: 'document_id#paragraph'.")
    paragraph: Paragraph = Field(description="The paragraph.")
    report: Report = Field(description="Its report (authority, kind, dates, title).")
    passage: str = Field(description="What the cross-encoder reads: the chunk text as embedded.")


# 'one' is left out: 'one of the strengths' names no count
_WORD_NUMBERS = dict(
    zip(
        "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
        "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred dozen".split(),
        [*range(2, 21), 30, 40, 50, 60, 70, 80, 90, 100, 12],
        strict=True,
    )
) | {"half": 0.5, "third": 1 / 3, "quarter": 0.25}
_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w])|\b(" + "|".join(_WORD_NUMBERS) + r")\b", re.I
)
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
_MONTHS = "january february march april may june july august september october november december".split()
_MONTH = re.compile(r"\b(" + "|".join(m.capitalize() for m in _MONTHS) + r")\b")


def normalise_label(label: str) -> str:
    """Return a cited label as the prompt wrote it: without brackets, spaces or a leading pilcrow."""
    return label.strip().strip("[]()").strip().removeprefix("¶").strip()


_TENS = dict(zip("twenty thirty forty fifty sixty seventy eighty ninety".split(), range(20, 100, 10), strict=True))
_UNITS = dict(zip("one two three four five six seven eight nine".split(), range(1, 10), strict=True))
_COMPOUND = re.compile(rf"\b({'|'.join(_TENS)})[- ]({'|'.join(_UNITS)})\b", re.I)


def numbers_in(text: str) -> set[float]:
    """Return the numbers a text states, years left out: '95%', '1,200', 'three', 'ninety-five', 'half'."""
    out: set[float] = set()
    text = _COMPOUND.sub(lambda m: str(_TENS[m.group(1).lower()] + _UNITS[m.group(2).lower()]), text)
    for m in _NUMBER.finditer(text):
        digits, word = m.group(1), m.group(2)
        if digits:
            if _YEAR.fullmatch(digits):
                continue
            out.add(float(digits.replace(",", "")))
        else:
            out.add(float(_WORD_NUMBERS[word.lower()]))
    return out


def _report_dates_text(report: Report) -> str:
    dates = [*report.inspection_dates, *([report.published] if report.published else [])]
    return " ".join(f"{d.day} {d:%B %Y}" for d in dates)


def check_numbers(sentence: str, evidence: str) -> list[str]:
    """Return a failure per number the sentence states that the evidence does not."""
    have = numbers_in(evidence)
    return [f"number: {_fmt(n)} is not in the cited paragraphs" for n in sorted(numbers_in(sentence) - have)]


def _fmt(n: float) -> str:
    return str(int(n)) if n == int(n) else f"{n:g}"


def check_dates(sentence: str, evidence: str) -> list[str]:
    """Return a failure per year or month the sentence names that the evidence does not."""
    years = set(_YEAR.findall(sentence)) - set(_YEAR.findall(evidence))
    months = set(_MONTH.findall(sentence)) - set(_MONTH.findall(evidence))
    return [f"date: {d} is not in the cited paragraphs or their reports' dates" for d in sorted(years | months)]


# longest first: 'requires improvement to be good' holds 'good'
_GRADES = (
    ("requires improvement to be good", re.compile(r"\brequires? improvement to be good\b", re.I)),
    ("requires improvement", re.compile(r"\brequires? improvement\b", re.I)),
    ("outstanding", re.compile(r"\boutstanding\b", re.I)),
    ("inadequate", re.compile(r"\binadequate\b", re.I)),
)
_GOOD_AS_GRADE = re.compile(
    r"\b(?:judged|rated|graded|grade of|as|was|were|is|are|remains?|be)\s+(?:['\"“‘])?good\b", re.I
)
_GOOD_ANYWHERE = re.compile(r"\bgood\b", re.I)


def grades_in(text: str, strict_good: bool) -> set[str]:
    """Return the grades a text names; 'good' in a sentence only after 'judged', 'rated', 'as'… (strict_good)."""
    out: set[str] = set()
    rest = text
    for name, pattern in _GRADES:
        if pattern.search(rest):
            out.add(name)
            rest = pattern.sub(" ", rest)
    if (_GOOD_AS_GRADE if strict_good else _GOOD_ANYWHERE).search(rest):
        out.add("good")
    return out


def check_grades(sentence: str, evidence: str) -> list[str]:
    """Return a failure per grade the sentence names that the evidence does not print."""
    printed = grades_in(evidence, strict_good=False)
    if "requires improvement to be good" in printed:
        printed.add("requires improvement")  # the 2015 framework's name for the same grade
    missing = grades_in(sentence, strict_good=True) - printed
    return [
        f"grade: '{g}' is not the grade in the cited paragraphs ({', '.join(sorted(printed)) or 'none printed'})"
        for g in sorted(missing)
    ]


_ALLOWED_NAMES = frozenset({"ofsted", "i", "uk", "england", "english"} | set(_MONTHS))
_CAPITAL = re.compile(r"\b[A-Z][A-Za-z'’-]*(?:\s+[A-Z][A-Za-z'’-]*)*")  # a run of capitalised words: one name


@cache
def _glossary_forms() -> dict[str, tuple[str, ...]]:
    """Return each glossary term's other written forms, keyed by every form, lower-cased."""
    from indexer.glossary import load_glossary

    forms: dict[str, tuple[str, ...]] = {}
    for term in load_glossary():
        names = tuple(n.lower() for n in (term.term, term.expansion, *term.synonyms))
        for n in names:
            forms[n] = forms.get(n, ()) + names
    return forms


def check_services(sentence: str, evidence: str) -> list[str]:
    """Return a failure per name (acronym or run of capitalised words) the sentence uses that the evidence does
    not: each of its words must occur there, or the glossary's other form of it."""
    low = evidence.lower()
    first = re.match(r"\W*\w+", sentence)
    start = first.end() if first else 0
    failures = []
    for m in _CAPITAL.finditer(sentence):
        words = m.group(0).split()
        if m.start() < start:  # the sentence's first word is capitalised anyway
            words = words[1:]
        name = " ".join(words)
        plain = [re.sub(r"(?:['’]s|['’-])$", "", w).lower() for w in words]
        missing = [
            w
            for w in plain
            if len(w) >= 2
            and w not in _ALLOWED_NAMES
            and not re.search(rf"\b{re.escape(w)}", low)
            and not any(re.search(rf"\b{re.escape(f)}\b", low) for f in _glossary_forms().get(w, ()))
        ]
        if missing and not any(re.search(rf"\b{re.escape(f)}\b", low) for f in _glossary_forms().get(name.lower(), ())):
            failures.append(f"service: '{name}' is not named in the cited paragraphs")
    return list(dict.fromkeys(failures))


_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|neither|without|cannot|nobody|nothing)\b|n['’]t\b", re.I)
# opposites a paraphrase may swap; each pair is checked both ways, on stemmed words
_OPPOSITES = (
    ("improv", "declin"),
    ("improv", "deteriorat"),
    ("improv", "worsen"),
    ("strong", "weak"),
    ("increas", "decreas"),
    ("increas", "reduc"),
    ("better", "worse"),
    ("good", "poor"),
    ("timely", "delay"),
    ("strength", "weakness"),
    ("effective", "ineffective"),
    ("consistent", "inconsistent"),
    ("safe", "unsafe"),
    ("adequate", "inadequate"),
    ("sufficient", "insufficient"),
    ("appropriate", "inappropriate"),
)
_PREFIXES = ("in", "un", "im", "ir", "il", "dis", "non-", "non")


def split_clauses(text: str) -> list[str]:
    """Return a paragraph's sentences (lines and sentence ends)."""
    return [s for line in text.split("\n") for s in re.split(r"(?<=[.!?;])\s+", line.strip()) if s.strip()]


def aligned_sentence(sentence: str, evidence: Sequence[str]) -> str:
    """Return the sentence of the evidence that shares most content words with the sentence."""
    words = set(tokenize(sentence))
    candidates = [c for text in evidence for c in split_clauses(text)]
    if not candidates:
        return ""
    return max(candidates, key=lambda c: len(words & set(tokenize(c))) / (len(set(tokenize(c))) ** 0.5 + 1))


def _has_word(text: str, stem: str) -> bool:
    return re.search(rf"\b{re.escape(stem)}", text, re.I) is not None


def check_negation(sentence: str, evidence: Sequence[str]) -> list[str]:
    """Return a failure when the sentence and its best-matching cited sentence disagree on polarity."""
    other = aligned_sentence(sentence, evidence)
    if not other:
        return []
    says, said = bool(_NEGATION.search(sentence)), bool(_NEGATION.search(other))
    if says != said:
        cue = _NEGATION.search(sentence) or _NEGATION.search(other)
        word = cue.group(0) if cue else "not"
        where = "the sentence" if says else "the cited sentence"
        return [f"negation: '{word}' is in {where} only (cited: \"{other[:120]}\")"]
    for a, b in _OPPOSITES:
        for x, y in ((a, b), (b, a)):
            if _has_word(sentence, x) and _has_word(other, y) and not _has_word(other, x):
                return [f"negation: '{x}…' in the sentence against '{y}…' in \"{other[:120]}\""]
    for word in set(re.findall(r"[a-z]{5,}", sentence.lower())):
        for prefix in _PREFIXES:
            if _has_word(other, prefix + word) and not _has_word(sentence, prefix + word):
                return [f"negation: '{word}' in the sentence against '{prefix}{word}' in \"{other[:120]}\""]
            if word.startswith(prefix) and len(word) - len(prefix) >= 5:
                base = word[len(prefix) :]
                if _has_word(other, base) and not _has_word(other, word):
                    return [f"negation: '{word}' in the sentence against '{base}' in \"{other[:120]}\""]
    return []


def word_overlap(sentence: str, evidence: str) -> float:
    """Return the share of the sentence's content words (stemmed) that occur in the evidence."""
    words = set(tokenize(sentence))
    if not words:
        return 1.0
    return len(words & set(tokenize(evidence))) / len(words)


def check_sentence(
    text: str,
    labels: list[str],
    given: dict[str, Evidence],
    scorer: Scorer | None,
    min_overlap: float,
    min_support: float,
) -> SentenceCheck:
    """Return what checking one generated sentence against the paragraphs it cites found (see the module)."""
    reasons = [
        f"unknown_label: '{raw}' was not among the paragraphs given"
        for raw in labels
        if normalise_label(raw) not in given
    ]
    cited = list(dict.fromkeys(normalise_label(raw) for raw in labels if normalise_label(raw) in given))
    if not cited:
        reasons.append("no_citation: the sentence cites none of the paragraphs given")
        return SentenceCheck(text=text, labels=labels, reasons=reasons)
    evidence = [given[label] for label in cited]
    texts = [f"{e.paragraph.section}\n{e.paragraph.text}" for e in evidence]  # the heading prints grades too
    reports = {e.report.document_id: e.report for e in evidence}
    about = " ".join(f"{r.local_authority} {r.kind} {r.title} {_report_dates_text(r)}" for r in reports.values())
    body = "\n".join(texts)
    reasons += check_numbers(text, body)
    reasons += check_dates(text, f"{body}\n{about}")
    reasons += check_grades(text, body)
    reasons += check_services(text, f"{body}\n{about}")
    reasons += check_negation(text, texts)
    overlap = word_overlap(text, f"{body}\n{about}")
    if overlap < min_overlap:
        reasons.append(f"overlap: {overlap:.2f} of its words are in the cited paragraphs ({min_overlap:.2f} needed)")
    support = None
    if scorer is not None:
        support = max(scorer(text, [e.passage for e in evidence]))
        if support < min_support:
            reasons.append(f"support: the cross-encoder gives {support:.3f} ({min_support:.3f} needed)")
    return SentenceCheck(
        text=text,
        labels=labels,
        reasons=reasons,
        overlap=round(overlap, 3),
        support=None if support is None else round(support, 4),
    )
