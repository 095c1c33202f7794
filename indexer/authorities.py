"""English local authorities with children's services: names, aliases, regions, statistical neighbours.

The table (`indexer/data/local_authorities.csv`) comes from the DfE/ONS lookup published with the MIT-licensed
`JT-39/ofsted-ilacs-scrape-tool` (`import_data/la_lookup/Provider_data_lookup.csv`); it contains public sector
information licensed under the Open Government Licence v3.0.
"""

from __future__ import annotations

import csv
import json
import re
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from indexer.settings import PACKAGE_DATA

TABLE = PACKAGE_DATA / "local_authorities.csv"
ALIASES = PACKAGE_DATA / "authority_aliases.json"  # everyday names the table lacks ('Kingston', 'South Glos')


@cache
def everyday_aliases() -> dict[str, str]:
    """Return alias → the authority's common name, from `authority_aliases.json` (each entry with its provenance)."""
    entries = json.loads(ALIASES.read_text(encoding="utf-8"))["aliases"]
    return {e["alias"]: e["authority"] for e in entries}


class LocalAuthority(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="The authority's common name, e.g. 'Kingston upon Hull'.")
    la_code: str = Field(description="DfE LA code, e.g. '810'.")
    aliases: list[str] = Field(description="Other names: 'Hull', 'BCP'…")
    region: str = Field(description="Region, e.g. 'Yorkshire and the Humber'.")
    statistical_neighbours: list[str] = Field(description="LA codes of the DfE's ten comparator authorities.")


@cache
def normalise_name(name: str) -> str:
    """Return a name for matching: lower case, '&' as 'and', no punctuation, single spaces."""
    n = re.sub(r"['\u2019]s\b", "", name.lower()).replace("&", " and ").replace("'", "").replace("\u2019", "")
    n = re.sub(r"[^a-z0-9 ]+", " ", n)
    n = re.sub(r"\bst\b", "saint", n)
    return re.sub(r"\s+", " ", n).strip()


def _common_name(ons: str) -> str:
    # 'Bristol, City of' → 'Bristol'; 'Kingston Upon Hull, City of' → 'Kingston upon Hull'
    name = re.sub(r",\s*(City|County) of$", "", ons).strip()
    return name.replace(" Upon ", " upon ")


@cache
def load_authorities() -> tuple[LocalAuthority, ...]:
    """Return every English local authority in the table."""
    out = []
    with TABLE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            aliases = [a.strip() for a in row["also_known_as"].strip("[]").split(",") if a.strip()]
            if row["ofsted_ilacs_scrape_la_name"] and not row["ofsted_ilacs_scrape_la_name"].isdigit():
                aliases.append(row["ofsted_ilacs_scrape_la_name"])
            name = _common_name(row["local_authority_ons_name"])
            aliases += [alias for alias, la in everyday_aliases().items() if la == name]
            out.append(
                LocalAuthority(
                    name=name,
                    la_code=row["la_code"],
                    aliases=aliases,
                    region=row["region_name"],
                    statistical_neighbours=[c.strip() for c in row["stat_neighbours"].split(",") if c.strip()],
                )
            )
    return tuple(out)


def _short_names(table: tuple[LocalAuthority, ...]) -> dict[str, LocalAuthority]:
    """Return the first part of compound names ('Brighton' for Brighton and Hove, 'Southend' for Southend-on-Sea,
    'East Riding' for East Riding of Yorkshire; 'Wight' for the Isle of Wight) where it names one authority only and
    is not another authority's name ('Kingston' is two)."""
    taken = {normalise_name(n) for la in table for n in (la.name, *la.aliases)}
    seen: dict[str, list[LocalAuthority]] = {}
    for la in table:
        head = re.split(r",| and | with | upon |-on-| on |-under-", la.name)[0].strip()
        if head != la.name and len(head) > 3:
            seen.setdefault(head, []).append(la)
        before, of, after = la.name.partition(" of ")
        if of and " " in before:  # 'East Riding' of Yorkshire; not 'Isle' of Wight or 'City' of London
            seen.setdefault(before, []).append(la)
        elif of and before.startswith("Isle"):  # 'Wight', 'Scilly'
            seen.setdefault(after, []).append(la)
    return {head: las[0] for head, las in seen.items() if len(las) == 1 and normalise_name(head) not in taken}


@cache
def _patterns() -> list[tuple[re.Pattern[str], LocalAuthority]]:
    pairs = []
    for head, la in _short_names(load_authorities()).items():
        pairs.append((re.compile(rf"\b{re.escape(normalise_name(head))}\b"), la))
    for la in load_authorities():
        for name in {la.name, *la.aliases}:
            key = normalise_name(name)
            if key:
                pairs.append((re.compile(rf"\b{re.escape(key)}\b"), la))
    # longest names first, so 'north east lincolnshire' wins over 'lincolnshire'
    return sorted(pairs, key=lambda p: -len(p[0].pattern))


@cache
def _everyday_words() -> frozenset[str]:
    """Return the names that are also everyday English words ('reading', 'bath', 'bucks'), from
    `authority_aliases.json`: only a capitalised mention of one names its authority."""
    entries = json.loads(ALIASES.read_text(encoding="utf-8")).get("everyday_words", [])
    return frozenset(normalise_name(e["word"]) for e in entries)


def find_authorities(text: str) -> list[LocalAuthority]:
    """Return the authorities a text names (by name or alias), longest match first, each once."""
    norm = f" {normalise_name(text)} "
    found: list[LocalAuthority] = []
    for pattern, la in _patterns():
        m = pattern.search(norm)
        if not m or la in found:
            continue
        if m.group(0) in _everyday_words() and not re.search(rf"\b{re.escape(m.group(0).capitalize())}\b", text):
            continue  # 'Bucks' names Buckinghamshire; 'bucks the trend' does not
        found.append(la)
        norm = norm[: m.start()] + " " * (m.end() - m.start()) + norm[m.end() :]
    return found


def same_authority(printed: str, la: LocalAuthority) -> bool:
    """Return whether a report's printed authority name is this authority."""
    return normalise_name(printed) in _names_of(la.la_code)


@cache
def _names_of(la_code: str) -> frozenset[str]:
    la = next(a for a in load_authorities() if a.la_code == la_code)
    return frozenset(normalise_name(n) for n in (la.name, *la.aliases))
