"""The type-only guideline's rules (`dataset_scripts/guideline.py`) checked on PubTator3's own training corpora.

AIONER's PubTator-format train files (`ncbi/AIONER`, `data/pubtator/`: GNormPlus, BioID, LINNAEUS, SPECIES) show where
PubTator3 puts a mention's edges; `check_pubtator` counts how often the converter's rules agree with them
(docs/GUIDELINES.md, "The rules checked on PubTator3's training corpora"). Run it with
`python -m dataset_scripts.guideline --pubtator FILE...`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from .guideline import (
    CELL_WORDS,
    HEAD_WORDS,
    MOLECULE_WORDS,
    ORGANISM_WORDS,
    PERSON_WORDS,
    REGION_WORDS,
    TRIMMERS,
    VARIANT_WORDS,
)

# PubTator files: "PMID|t|title", "PMID|a|abstract", then "PMID<TAB>start<TAB>end<TAB>text<TAB>type[<TAB>id]".
PUBTATOR_TEXT = re.compile(r"^(\d+)\|([ta])\|(.*)$")
WORD = re.compile(r"\w+|[^\w\s]")
PUBTATOR_TYPES = {"Gene": ("Gene", "FamilyName"), "CellLine": ("CellLine",), "Species": ("Species",)}


def pubtator_documents(path: str | Path) -> Iterable[tuple[str, list[tuple[int, int, str, str, str]]]]:
    """Documents of a PubTator file: (title + " " + abstract, [(start, end, text, type, identifier)]).

    Not the `bioc` package's reader: bioc 2.1 reads an annotation line without an identifier (5 fields: 1,559 of
    GNormPlus train's, its FamilyName and DomainMotif mentions) as a relation, and they would be lost.

    Raises:
        ValueError: an annotation line before any title (file and line named).
    """
    text, mentions = None, []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip("\n")
            match = PUBTATOR_TEXT.match(line)
            if match and match.group(2) == "t":
                if text is not None:
                    yield text, mentions
                text, mentions = match.group(3), []
            elif match:
                text += " " + match.group(3)
            elif line.strip():
                if text is None:
                    raise ValueError(f"{path}:{number}: an annotation before any title line")
                fields = line.split("\t")
                mentions.append((int(fields[1]), int(fields[2]), fields[3], fields[4], "".join(fields[5:6])))
    if text is not None:
        yield text, mentions


def check_pubtator(path: str | Path) -> dict:
    """How the guideline's rules agree with a PubTator corpus's own annotation, per converted type it holds.

    Gene and CellLine: of the mentions the file extends by a suffix word in the text ("MTHFR" of "MTHFR gene"),
    how many the trim rule brings back from "mention + word" to the mention; of those ending in a suffix word
    ("myelin basic protein"), how many the rule keeps whole. Gene also: of the mentions after an organism word
    ("GnRHR" of "human GnRHR"), how many the rule brings back, and which words; of those starting with one, how many
    it keeps. Species: person words in the text, tagged and not,
    and the mention texts of Homo sapiens (identifier 9606).

    Returns:
        `dict`: {type: counts}, for the types of `PUBTATOR_TYPES` the file holds.
    """
    suffixes = {"Gene": MOLECULE_WORDS | HEAD_WORDS | VARIANT_WORDS | REGION_WORDS, "CellLine": CELL_WORDS}
    report: dict[str, Counter] = {}
    human, organisms = Counter(), Counter()
    for text, mentions in pubtator_documents(path):
        tagged_at = {start for start, _, _, kind, _ in mentions if kind == "Species"}
        for start, end, mention, kind, identifier in mentions:
            entity_type = next((name for name, kinds in PUBTATOR_TYPES.items() if kind in kinds), None)
            if entity_type is None:
                continue
            counts = report.setdefault(entity_type, Counter())
            counts["mentions"] += 1
            if entity_type == "Species":
                if "9606" in identifier.split(","):
                    human[mention.lower()] += 1
                continue
            words = WORD.findall(mention)
            following = WORD.match(text[end:].lstrip())
            trim, whole = TRIMMERS[entity_type], (0, len(words))
            if following and following.group().lower() in suffixes[entity_type]:
                counts["followed_by_suffix"] += 1
                counts["rule_trims_back"] += trim([*words, following.group()]) == whole
            if words and words[-1].lower() in suffixes[entity_type]:
                counts["ending_in_suffix"] += 1
                counts["rule_keeps"] += trim(words) == whole
            if entity_type == "Gene":
                preceding = WORD.findall(text[max(0, start - 40):start])[-1:]
                if preceding and preceding[0].lower() in ORGANISM_WORDS:
                    counts["after_organism"] += 1
                    organisms[preceding[0].lower()] += 1
                    counts["rule_trims_organism"] += trim([*preceding, *words]) == (1, len(words) + 1)
                if words and words[0].lower() in ORGANISM_WORDS:
                    counts["starting_with_organism"] += 1
                    counts["rule_keeps_organism"] += trim(words) == whole
        if "Species" in report:
            for match in WORD.finditer(text):
                if match.group().lower() in PERSON_WORDS:
                    key = "person_words_tagged" if match.start() in tagged_at else "person_words_untagged"
                    report["Species"][key] += 1
    result = {entity_type: dict(counts) for entity_type, counts in report.items()}
    if "Species" in result:
        result["Species"]["homo_sapiens_mentions"] = dict(human.most_common())
    if organisms:
        result["Gene"]["organism_words_before"] = dict(organisms.most_common())
    return result
