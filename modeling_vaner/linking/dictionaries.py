"""Dictionaries per entity type: the entries of a type's sources (`sources.py`) and users' files, keyed for exact,
order-free and compact lookup (`Dictionary`), built by `build_dictionary`.
"""

import itertools
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from .sources import (
    DEFAULT_SOURCES,
    LINKING_SOURCES,
    Entry,
    LinkingPaths,
    SourceNotGiven,
    read_source_entries,
    read_user_dictionary,
)
from .text import bag_key, compact_key, name_key

logger = logging.getLogger(__name__)

# A word pair is a synonym pair when at least this many pairs of one concept's names differ by it alone (3, on
# BioSyn's NCBI-disease and BC5CDR-disease dev: 1 and 2 break more mentions, 4 is level; docs/RESULTS.md); concepts
# with more names than SYNONYM_MAX_NAMES (gene families, chemical classes) are left out of the mining. The types whose
# dictionaries teach synonyms (SYNONYM_TYPES): those whose dev accuracy@1 they raise, Disease (NCBI-disease raw
# mentions 85.01 -> 86.91), not Chemical (BC5CDR dev 93.02 -> 92.87), Species (S800 dev 78.12 -> 77.50) or Gene
# (GNormPlus train 86.75 -> 86.70; benchmarks/results/linking_synonyms_dev.json).
SYNONYM_MIN_PAIRS = 3
SYNONYM_MAX_NAMES = 60
SYNONYM_TYPES = ("Disease",)


def mine_synonyms(keys: Sequence[str],
                  key_concepts: Sequence[Sequence[tuple[float, int]]]) -> dict[str, tuple[str, ...]]:
    """Word synonyms learnt from a dictionary: two words are synonyms when, in at least `SYNONYM_MIN_PAIRS` pairs of
    names of one concept, the names have the same length and differ in that word alone ("carcinoma" and "neoplasm":
    "prostatic carcinoma" and "prostatic neoplasm", "breast carcinoma" and "breast neoplasm", ...). Sieve-based
    normalisation's synonym replacement (D'Souza and Ng 2015), its lists learnt from the dictionary.

    Args:
        keys: the dictionary's names (`name_key`s).
        key_concepts: per name, its (priority, concept index) pairs.

    Returns:
        word -> the words that may replace it, sorted.
    """
    names: dict[int, list[list[str]]] = defaultdict(list)
    for key, concepts in zip(keys, key_concepts):
        for _, concept in concepts:
            names[concept].append(key.split())
    pairs: Counter = Counter()
    for concept_names in names.values():
        if len(concept_names) > SYNONYM_MAX_NAMES:
            continue
        for first, second in itertools.combinations(concept_names, 2):
            if len(first) == len(second):
                differing = [(a, b) for a, b in zip(first, second) if a != b]
                if len(differing) == 1:
                    pairs[differing[0]] += 1
                    pairs[differing[0][::-1]] += 1
    synonyms: dict[str, set[str]] = defaultdict(set)
    for (word, other), count in pairs.items():
        if count >= SYNONYM_MIN_PAIRS:
            synonyms[word].add(other)
    return {word: tuple(sorted(others)) for word, others in synonyms.items()}


class Dictionary:
    """One type's names: `keys` (unique `name_key`s), each with its concepts ranked (`key_concepts[row]`: a list of
    (priority, concept index)), the order-free and compact keys pointing at rows, and the word synonyms its names
    teach (`synonyms`, `mine_synonyms`; empty for a type outside `SYNONYM_TYPES`).

    Args:
        entity_type: the type the dictionary serves.
        entries: (name, concept, priority) triples, in source order (an earlier entry wins a tie).
        skipped: sources that were not available, and why.
        source_entries: entries read per source (for `stats`).
    """

    def __init__(self, entity_type: str, entries: Iterable[Entry], skipped: dict[str, str] | None = None,
                 source_entries: dict[str, int] | None = None):
        self.entity_type, self.skipped = entity_type, dict(skipped or {})
        self.source_entries = dict(source_entries or {})
        self.concepts: list[tuple[str, ...]] = []
        concept_index: dict[tuple[str, ...], int] = {}
        ranked: dict[str, dict[int, tuple[float, int]]] = {}
        self.entries = 0
        for order, (name, concept, priority) in enumerate(entries):
            key = name_key(name)
            if not key or not concept:
                continue
            index = concept_index.setdefault(concept, len(self.concepts))
            if index == len(self.concepts):
                self.concepts.append(concept)
            row = ranked.setdefault(key, {})
            if index not in row or (priority, order) < row[index]:
                row[index] = (priority, order)
            self.entries += 1
        self.keys = list(ranked)
        self.key_concepts = [
            [(priority, index) for index, (priority, _) in sorted(row.items(), key=lambda item: item[1])]
            for row in ranked.values()
        ]
        self.key_rows = {key: row for row, key in enumerate(self.keys)}
        self.compact_rows: dict[str, list[int]] = defaultdict(list)
        self.bag_rows: dict[str, list[int]] = defaultdict(list)
        for row, key in enumerate(self.keys):
            self.compact_rows[compact_key(key)].append(row)
            self.bag_rows[bag_key(key)].append(row)
        self.compact_rows, self.bag_rows = dict(self.compact_rows), dict(self.bag_rows)
        self.synonyms = mine_synonyms(self.keys, self.key_concepts) if entity_type in SYNONYM_TYPES else {}

    def __len__(self) -> int:
        return len(self.keys)

    def stats(self) -> dict:
        return {"entity_type": self.entity_type, "entries": self.entries, "names": len(self.keys),
                "concepts": len(self.concepts), "entries_per_source": self.source_entries, "skipped": self.skipped}


def _join_drugbank(entries: list[Entry]) -> list[Entry]:
    """DrugBank drugs one of whose names is a MeSH chemical name of exactly one MeSH concept take that concept."""
    mesh: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    drugs: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name, concept, _ in entries:
        if concept[0].startswith("MESH:"):
            mesh[name_key(name)].add(concept)
        elif concept[0].startswith("DRUGBANK:"):
            drugs[concept].append(name_key(name))
    joined = {}
    for drug, keys in drugs.items():
        targets = {concept for key in keys for concept in mesh.get(key, ()) if len(mesh[key]) == 1}
        if len(targets) == 1:
            joined[drug] = targets.pop()
    return [(name, joined.get(concept, concept), priority) for name, concept, priority in entries]


def build_dictionary(entity_type: str, paths: LinkingPaths, sources: Sequence[str] | None = None,
                     user_files: Sequence[str | Path] = ()) -> Dictionary:
    """The dictionary of one type from its sources (default `DEFAULT_SOURCES[entity_type]`) and the user files'
    lines of that type; sources whose files are absent are skipped (`Dictionary.skipped`).

    Raises:
        ValueError: an unknown source, a source of another type, or a malformed line (file and line named).
    """
    sources = DEFAULT_SOURCES.get(entity_type, ()) if sources is None else tuple(sources)
    for source in sources:
        if source not in LINKING_SOURCES:
            raise ValueError(f"unknown linking source {source!r}; known: {sorted(LINKING_SOURCES)}")
        if LINKING_SOURCES[source].entity_type != entity_type:
            raise ValueError(f"linking source {source!r} is for {LINKING_SOURCES[source].entity_type}, "
                             f"not {entity_type}")
    entries: list[Entry] = []
    skipped: dict[str, str] = {}
    counts: dict[str, int] = {}
    for path in user_files:
        entries += [(name, (identifier,), 0) for name, kind, identifier in read_user_dictionary(path)
                    if kind == entity_type]
        counts[f"user:{Path(path).stem}"] = len(entries) - sum(counts.values())
    for source in sources:
        try:
            entries += list(read_source_entries(source, paths))
            counts[source] = len(entries) - sum(counts.values())
        except FileNotFoundError as error:
            skipped[source] = str(error)
            log = logger.info if isinstance(error, SourceNotGiven) else logger.warning
            log("linking dictionary %s: source %s skipped: %s", entity_type, source, error)
    if "drugbank" in sources:
        entries = _join_drugbank(entries)
    return Dictionary(entity_type, entries, skipped, counts)
