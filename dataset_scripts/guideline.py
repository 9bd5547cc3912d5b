"""The annotation guideline of the type-only instruction (docs/GUIDELINES.md), and the converter to it.

The dataset instruction keeps each corpus's own guideline; the type-only instruction (what free text gets) follows
one guideline, PubTator3's. Each corpus declares in the corpus table (`Corpus.type_only`) whether its gold already
follows it ("as-is"), is converted to it here ("converted"), or cannot be and gets no type-only rows
("dataset-only"). The conversion works per type, never per corpus name:

- Gene: a trailing molecule word ("gene", "protein", "mRNA", "family", ...) or DNA-region word ("promoter",
  "site", "element", ...) is trimmed where what is left names a gene ("IL-2 gene promoter" -> "IL-2"); "gene" or
  "protein" that heads a name stays ("myelin basic protein"); a region with no gene name left ("kappa B site",
  "TATA box") and an entity left empty ("gene") are dropped. A trailing variant word ("isoforms", "mutant") and a
  leading organism word ("human GnRHR") are trimmed where the rest names a gene.
- CellLine: a trailing "cell(s)", "line(s)" is trimmed ("HeLa cells" -> "HeLa"); dropped where no cell-line name
  is left ("T cell line").
- Species: every untagged person word ("patients", "women", ...; `PERSON_WORDS`) becomes a Homo sapiens mention.
- Disease and Chemical: unchanged (their corpora are PubTator3's own training data).

`python -m dataset_scripts.guideline --corpora-dir DIR --split train` prints what the conversion changes per corpus;
`python -m dataset_scripts.guideline --pubtator FILE...` checks the rules on PubTator-format reference corpora.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from modeling_vaner.processing_vaner import LABEL_B, LABEL_O, entity_spans, spans_to_labels

COUNT_KEYS = ("trimmed", "dropped", "added")
# The gold a type-only row is trained on (`type_only_gold`) or scored against (`vaner evaluate --gold`): each
# corpus's own, or converted to this guideline
GOLDS = ("corpus", "guideline")

# Name the kind of molecule, never a gene: always trimmed, the entity dropped if nothing is left.
MOLECULE_WORDS = frozenset(
    {"mrna", "mrnas", "cdna", "cdnas", "transcript", "transcripts", "family", "families", "superfamily",
     "subfamily"}
)
# "gene"/"protein": trimmed after a gene name ("p53 protein"), kept where they head the name ("G protein").
HEAD_WORDS = frozenset({"gene", "genes", "protein", "proteins"})
# Name a form of the gene, outside the mention in GNormPlus ("MTHFR variants" -> "MTHFR"): trimmed where the words
# before them name a gene.
VARIANT_WORDS = frozenset(
    {"isoform", "isoforms", "variant", "variants", "allele", "alleles", "mutant", "mutants", "polymorphism",
     "polymorphisms"}
)
# The organism a gene is of, outside the mention in GNormPlus ("human GnRHR" -> "GnRHR"): single-word Species
# mentions of LINNAEUS and S800 train found before GNormPlus train's gene mentions at least twice, less the genus
# "Drosophila", which starts a binomial ("Drosophila melanogaster") as often as it precedes a gene
# (docs/GUIDELINES.md, "Gene").
ORGANISM_WORDS = frozenset({"human", "mouse", "murine", "rat", "yeast", "bovine", "chicken"})
# DNA regions: a gene's region is tagged as the gene ("IL-2 promoter" -> "IL-2"); a region naming no gene is not
# a Gene at all under PubTator3 ("kappa B site" is dropped).
REGION_WORDS = frozenset(
    {"promoter", "promoters", "enhancer", "enhancers", "site", "sites", "element", "elements", "region", "regions",
     "locus", "loci", "box", "boxes", "motif", "motifs"}
)
# Protein names end in these words by themselves ("insulin receptor gene" -> "insulin receptor").
NAME_HEAD_WORDS = frozenset(
    {"receptor", "receptors", "kinase", "kinases", "factor", "factors", "ligand", "ligands", "channel", "channels",
     "hormone", "hormones", "antigen", "antigens", "subunit", "subunits", "chain", "chains", "activator",
     "activators", "inhibitor", "inhibitors", "regulator", "regulators", "repressor", "repressors", "transporter",
     "transporters", "homolog", "homologs", "homologue", "homologues"}
)
# Words ending like enzyme names ("-ase") or protein names ("-in": "albumin", "prolactin") that are neither.
NOT_NAMES = frozenset({"disease", "diseases", "release", "increase", "decrease", "phase", "phases", "base", "bases",
                       "origin", "chromatin"})
# Viruses whose genome regions the Gene corpora tag ("HIV - 1 enhancer", "SV40 promoter"): a virus is a Species
# under PubTator3, its region no Gene.
VIRUSES = frozenset({"hiv", "siv", "htlv", "sv40", "cmv", "hcmv", "ebv", "hbv", "hpv", "mmtv", "rsv", "hsv"})
# Words joining a region word to the gene it binds ("Sp1 binding sites"), peeled with the region word.
REGION_JOINERS = frozenset({"binding", "recognition"})
GREEK = frozenset(
    {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu",
     "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"}
)
CELL_WORDS = frozenset({"cell", "cells", "line", "lines"})
# Joiners left dangling by a trim ("IL-2-gene" -> "IL-2-").
DANGLING = frozenset({"-", "/", ","})
# Homo sapiens words (NCBI Taxonomy 9606) that LINNAEUS's train gold tags as Species and S800 never does: its
# single-word mentions naming people, with the plural of each singular (docs/GUIDELINES.md, "Species").
PERSON_WORDS = frozenset(
    {"patient", "patients", "people", "peoples", "participant", "participants", "woman", "women", "man", "men",
     "person", "persons", "infant", "infants", "boys", "girls", "children", "schoolchildren"}
)
CONVERTED_TYPES = ("Gene", "CellLine", "Species")


def _to_last_word(tokens: Sequence[str]) -> Sequence[str]:
    """`tokens` up to their last token with a letter or digit ("IL - 2 ( IL2" of "IL - 2 ( IL2 )")."""
    end = len(tokens)
    while end and not any(char.isalnum() for char in tokens[end - 1]):
        end -= 1
    return tokens[:end]


def is_sequence(word: str) -> bool:
    """A DNA consensus written out ("TATA", "CCAAT", "GC"): a sequence, not a gene name."""
    return len(word) >= 2 and set(word) <= set("ACGTU")


def names_gene(tokens: Sequence[str]) -> bool:
    """Whether `tokens` (an entity with its trailing words trimmed) end in a gene or protein name, judged by its
    last word: a symbol (a digit, or a capital after the first letter: "p53", "VEGF", "lacZ"), a short capitalised
    symbol ("Rb", "Hox"), a capital letter or Roman numeral after a name ("IGF - I", "NF - kappa B"), a Greek letter
    after a name ("TGF - beta"), the name after a one-letter prefix ("c - myc"), a protein-name head ("insulin
    receptor"), an enzyme or protein name ("acetyltransferase", "prolactin") or "gene"/"protein" itself ("zinc
    finger protein" of "zinc finger protein gene"). None: a written-out DNA sequence ("TATA"), a lone letter ("G"
    of "G protein", "B" of "kappa B"), a plain word ("myelin basic")."""
    tokens = _to_last_word(tokens)
    if not tokens:
        return False
    word = tokens[-1]
    lower = word.lower()
    if word.isalpha() and (len(word) == 1 or re.fullmatch(r"[IVX]+", word)):
        before = tokens[:-2] if len(tokens) >= 3 and tokens[-2] == "-" else tokens[:-1]
        return word.isupper() and names_gene(before)
    if is_sequence(word):
        return False
    if any(char.isdigit() for char in word) or any(char.isupper() for char in word[1:]):
        return True
    if len(word) <= 4 and word[0].isupper() and word[1:].isalpha():
        return True
    if lower in GREEK:
        return len(tokens) > 1
    if len(tokens) >= 3 and tokens[-2] == "-" and len(tokens[-3]) == 1 and tokens[-3].isalpha():
        return True
    if lower in NAME_HEAD_WORDS or lower in HEAD_WORDS:
        return True
    if lower in NOT_NAMES or lower.endswith(("domain", "domains")) or len(lower) < 5:
        return False
    return lower.endswith(("ase", "ases", "in", "ins"))


def names_cell_line(tokens: Sequence[str]) -> bool:
    """Whether `tokens` name a cell line ("HeLa", "RAW264 . 7", "Jurkat T"): a word with a capital or a digit, a
    lone capital letter aside ("T" of "T cell line", "human T"); "leukemic" of "human leukemic cell line" is none."""
    return any(
        any(char.isupper() or char.isdigit() for char in token) and not (len(token) == 1 and token.isalpha())
        for token in tokens
    )


def _strip_dangling(tokens: Sequence[str], end: int) -> int:
    while end > 0 and tokens[end - 1] in DANGLING:
        end -= 1
    return end


def trim_gene(tokens: Sequence[str]) -> tuple[int, int] | None:
    """The guideline's extent of one Gene entity: the span of its `tokens` that stays, or None to drop it.

    Trailing words are peeled right to left: molecule words always, region words always (remembered), "gene",
    "protein" and variant words ("isoforms") only where the words before them name a gene (`names_gene`). The
    entity is dropped where nothing is left, or where a region was peeled and what is left names no gene or starts
    with a virus (`VIRUSES`). Then a leading organism word ("human") goes where the words after it name a gene.

    Args:
        tokens (`Sequence[str]`): The entity's words.

    Returns:
        `tuple[int, int] | None`: the (start, end) word indices kept (`(0, len(tokens))`: unchanged), or None.
    """
    end, region = len(tokens), False
    while end > 0:
        word = tokens[end - 1].lower()
        if word in MOLECULE_WORDS or word in REGION_WORDS or (region and word in REGION_JOINERS):
            region = region or word in REGION_WORDS
        elif (word in HEAD_WORDS or word in VARIANT_WORDS) and (end == 1 or names_gene(tokens[: end - 1])):
            pass
        else:
            break
        end = _strip_dangling(tokens, end - 1)
    if end == 0 or (region and (not names_gene(tokens[:end]) or tokens[0].lower() in VIRUSES)):
        return None
    return int(_names_organism_of_gene(tokens[:end])), end


def _names_organism_of_gene(tokens: Sequence[str]) -> bool:
    """Whether the first of `tokens` is an organism word before a gene name ("human GnRHR"), not a word of a name
    ("human immunodeficiency virus", "murine - specific"), of a list ("murine and human p40") nor of a description
    ("human gene", "murine homolog")."""
    rest = tokens[1:]
    return (
        len(rest) > 0 and tokens[0].lower() in ORGANISM_WORDS and rest[0][:1].isalnum()
        and rest[0].lower() not in ("and", "or")
        and not any("virus" in token.lower() for token in rest)
        and not (len(rest) == 1 and (rest[0].lower() in HEAD_WORDS or rest[0].lower() in NAME_HEAD_WORDS))
        and names_gene(rest)
    )


def trim_cell_line(tokens: Sequence[str]) -> tuple[int, int] | None:
    """The guideline's extent of one CellLine entity ("HeLa cells" -> "HeLa"): trailing "cell(s)"/"line(s)"
    trimmed; None (drop) where the words left name no cell line.

    Args:
        tokens (`Sequence[str]`): The entity's words.

    Returns:
        `tuple[int, int] | None`: the (start, end) word indices kept, or None.
    """
    end = len(tokens)
    while end > 0 and tokens[end - 1].lower() in CELL_WORDS:
        end = _strip_dangling(tokens, end - 1)
    if end == len(tokens) or (end and names_cell_line(tokens[:end])):
        return 0, end
    return None


TRIMMERS = {"Gene": trim_gene, "CellLine": trim_cell_line}


def convert_labels(tokens: Sequence[str], labels: Sequence[int], entity_type: str) -> tuple[list[int], Counter]:
    """One sentence's O/B/I labels of `entity_type` under the guideline.

    Args:
        tokens (`Sequence[str]`): The words.
        labels (`Sequence[int]`): Their labels (0=O, 1=B, 2=I).
        entity_type (`str`): The type the labels are of.

    Returns:
        `tuple[list[int], Counter]`: the new labels, and how many entities were trimmed, dropped and added.

    Raises:
        ValueError: a type the guideline does not convert (Disease, Chemical: their gold is kept as it is).
    """
    counts = Counter()
    if entity_type == "Species":
        new = list(labels)
        for index, token in enumerate(tokens):
            if new[index] == LABEL_O and token.lower() in PERSON_WORDS:
                new[index] = LABEL_B
                counts["added"] += 1
        return new, counts
    if entity_type not in TRIMMERS:
        raise ValueError(f"no guideline conversion for type {entity_type!r}; converted types: "
                         f"{', '.join(CONVERTED_TYPES)}")
    spans = []
    for first, last in entity_spans(labels):
        kept = TRIMMERS[entity_type](tokens[first:last])
        if kept is None:
            counts["dropped"] += 1
        else:
            counts["trimmed"] += kept != (0, last - first)
            spans.append((first + kept[0], first + kept[1]))
    return spans_to_labels(spans, len(labels)), counts


def type_only_policy(corpus: str) -> str:
    """The corpus table's `type_only` decision for `corpus` ("as-is", "converted" or "dataset-only").

    Raises:
        ValueError: an unknown corpus.
    """
    from .corpora import get_corpus

    return get_corpus(corpus).type_only


def guideline_records(records: Iterable[dict], corpus: str) -> tuple[list[dict], Counter]:
    """Records of `corpus` (as `read_corpus` returns them, or mixture records) with their labels under the
    type-only guideline: converted where the corpus table says "converted", as they are where "as-is".

    Args:
        records (`Iterable[dict]`): Records with tokens, ner_tags and entity_type.
        corpus (`str`): Their corpus (its `type_only` decides).

    Returns:
        `tuple[list[dict], Counter]`: new records (the others' dicts untouched) and the entities trimmed, dropped
        and added.

    Raises:
        ValueError: a "dataset-only" corpus (it has no gold under the guideline), or a converted corpus of a type
            the guideline does not convert.
    """
    policy = type_only_policy(corpus)
    if policy == "dataset-only":
        raise ValueError(f"{corpus} is dataset-only (corpus table): its gold cannot be read under the type-only "
                         "guideline")
    counts = Counter()
    if policy == "as-is":
        return list(records), counts
    converted = []
    for record in records:
        labels, changed = convert_labels(record["tokens"], record["ner_tags"], record["entity_type"])
        counts += changed
        converted.append({**record, "ner_tags": labels})
    return converted, counts


def corpus_guideline_stats(records: Sequence[dict], corpus: str) -> dict:
    """What the conversion does to one corpus split: its policy, sentences, entities before and after, and the
    entities trimmed, dropped and added ("dataset-only": the counts it would have, had it been converted)."""
    from .corpora import get_corpus

    policy = type_only_policy(corpus)
    entity_type = get_corpus(corpus).entity_type
    counts = Counter()
    if entity_type in CONVERTED_TYPES and policy != "as-is":
        for record in records:
            counts += convert_labels(record["tokens"], record["ner_tags"], entity_type)[1]
    before = sum(list(record["ner_tags"]).count(LABEL_B) for record in records)
    return {
        "corpus": corpus,
        "entity_type": entity_type,
        "type_only": policy,
        "sentences": len(records),
        "entities": before,
        **{key: counts[key] for key in COUNT_KEYS},
        "entities_after": before - counts["dropped"] + counts["added"],
    }


def person_word_counts(records: Iterable[dict]) -> dict[str, tuple[int, int]]:
    """Per person word occurring in `records`: (times tagged, times untagged), the evidence for `PERSON_WORDS`."""
    tagged, untagged = Counter(), Counter()
    for record in records:
        for token, label in zip(record["tokens"], record["ner_tags"]):
            if token.lower() in PERSON_WORDS:
                (untagged if label == LABEL_O else tagged)[token.lower()] += 1
    return {word: (tagged[word], untagged[word]) for word in sorted(tagged.keys() | untagged.keys())}


def format_stats(rows: list[dict]) -> str:
    """The per-corpus conversion counts as a table."""
    header = f"{'corpus':<16}{'type':<10}{'type_only':<14}{'sentences':>10}{'entities':>10}"
    header += "".join(f"{key:>9}" for key in COUNT_KEYS) + f"{'after':>9}"
    lines = [header]
    for row in rows:
        lines.append(
            f"{row['corpus']:<16}{row['entity_type']:<10}{row['type_only']:<14}{row['sentences']:>10}"
            f"{row['entities']:>10}" + "".join(f"{row[key]:>9}" for key in COUNT_KEYS) + f"{row['entities_after']:>9}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m dataset_scripts.guideline`: the conversion's counts per corpus (train or validation: never test),
    or with --pubtator the rules checked on PubTator-format corpora."""
    from .corpora import (
        CORPORA,
        CORPORA_DIR_HELP,
        check_corpus_names,
        read_corpus,
        readable_corpora,
        resolve_corpora_dir,
    )

    parser = argparse.ArgumentParser(prog="python -m dataset_scripts.guideline", description=main.__doc__)
    parser.add_argument("--corpora-dir", help=CORPORA_DIR_HELP)
    parser.add_argument("--split", default="train", choices=("train", "validation"))
    parser.add_argument("--corpora", nargs="+", default=["all"], metavar="NAME", help="corpus names, or all")
    parser.add_argument("--pubtator", nargs="+", type=Path, metavar="FILE",
                        help="check the rules on these PubTator files instead (their Gene, CellLine, Species)")
    args = parser.parse_args(argv)
    if args.pubtator:
        from .guideline_evidence import check_pubtator

        for path in args.pubtator:
            print(f"{path.name}:")
            for entity_type, counts in check_pubtator(path).items():
                print(f"  {entity_type}: " + ", ".join(f"{key} {value}" for key, value in counts.items()))
        return 0
    root = resolve_corpora_dir(args.corpora_dir)
    readable, missing = readable_corpora(check_corpus_names(args.corpora), args.split, root)
    for name, reason in missing.items():
        print(f"skipping {name}: {reason}")
    rows, persons = [], {}
    for name in readable:
        records = read_corpus(name, args.split, root)
        rows.append(corpus_guideline_stats(records, name))
        if CORPORA[name].entity_type == "Species":
            persons[name] = person_word_counts(records)
    print(format_stats(rows))
    for name, counts in persons.items():
        print(f"{name} person words (tagged/untagged): "
              + ", ".join(f"{word} {tagged}/{untagged}" for word, (tagged, untagged) in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
