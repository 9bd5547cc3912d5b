"""Corpus statistics next to Table 2 of the VANER paper: sentences and entities per split, IOB2 validity,
and sentences a validation or test split shares with train; for the added corpora (issue 33), documents, sentences
and mentions per split, the documents the leakage filter dropped, and the mentions left out or widened."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from modeling_vaner.processing_vaner import LABEL_B, LABEL_I, LABEL_O

from .corpora import CORPORA, SPLITS, CorpusUnavailableError, get_corpus, read_corpus
from .tagged_files import CorpusFormatError

TOLERANCE = 0.02  # a relative difference to Table 2 above this is flagged
# `read_added_split`'s counts of mentions that could not be entities and were left out (never silently)
LEFT_OUT_KEYS = (
    "crossing_sentences", "no_word", "discontinuous", "text_mismatch", "documents_left_out", "unmatched", "overlapping"
)


def relative_difference(measured: int, reference: int) -> float:
    return (measured - reference) / reference


def iob2_violations(records: Iterable[Mapping]) -> int:
    """The number of sentences in which an I tag follows O or starts the sentence."""
    return sum(
        any(
            tag == LABEL_I and previous == LABEL_O
            for previous, tag in zip([LABEL_O, *record["ner_tags"]], record["ner_tags"])
        )
        for record in records
    )


def added_corpus_stats(
    name: str, splits: Mapping[str, list[Mapping]], reports: Mapping[str, dict] | None = None
) -> dict:
    """The statistics of an added corpus from its records per split, with what reading counted where given.

    Args:
        name (`str`): The corpus.
        splits (`Mapping[str, list[Mapping]]`): Its records per split (lists of dicts, or `datasets.Dataset`s).
        reports (`Mapping[str, dict]`, *optional*): `read_added_split`'s counts per split (None: records only).

    Returns:
        `dict`: {"corpus", "added": True, "available", "entity_type", "licence", "splits": one row per split}.
    """
    corpus = get_corpus(name)
    rows = []
    for split, records in splits.items():
        report = (reports or {}).get(split, {})
        documents = {record["document_id"] or record["id"] for record in records}
        rows.append(
            {
                "split": split,
                "documents": len(documents),
                "sentences": len(records),
                "entities": sum(list(record["ner_tags"]).count(LABEL_B) for record in records),
                "iob2_violations": iob2_violations(records),
                "dropped_documents": report.get("dropped_documents"),
                # counted over the whole source file (both splits), before the split and the leakage filter
                "left_out": {key: report[key] for key in LEFT_OUT_KEYS if report.get(key)},
                "widened": report.get("widened"),
            }
        )
    return {"corpus": name, "added": True, "available": True, "entity_type": corpus.entity_type,
            "licence": corpus.licence, "type_only": corpus.type_only, "splits": rows, "notes": corpus.notes}


def corpus_stats(name: str, splits: Mapping[str, list[Mapping]]) -> dict:
    """The statistics of one corpus from its records per split (lists of dicts, or `datasets.Dataset`s)."""
    corpus = get_corpus(name)
    if not corpus.paper:
        return added_corpus_stats(name, splits)
    train = {tuple(record["tokens"]) for record in splits["train"]}
    rows = []
    for split, reference in zip(SPLITS, corpus.table2_sentences):
        records = splits[split]
        difference = relative_difference(len(records), reference)
        rows.append(
            {
                "split": split,
                "source": corpus.splits[split].source.local,
                "sentences": len(records),
                "table2_sentences": reference,
                "difference": round(difference, 4),
                "flagged": abs(difference) > TOLERANCE,
                "entities": sum(list(record["ner_tags"]).count(LABEL_B) for record in records),
                "iob2_violations": iob2_violations(records),
                "shared_with_train": None
                if split == "train"
                else sum(tuple(record["tokens"]) in train for record in records),
            }
        )
    entities = sum(row["entities"] for row in rows)
    difference = relative_difference(entities, corpus.table2_entities)
    return {
        "corpus": name,
        "available": True,
        "entity_type": corpus.entity_type,
        "splits": rows,
        "entities": entities,
        "table2_entities": corpus.table2_entities,
        "entity_difference": round(difference, 4),
        "entities_flagged": abs(difference) > TOLERANCE,
        "notes": corpus.notes,
    }


def collect(corpora_dir=None, names: Iterable[str] = tuple(CORPORA), download=None) -> list[dict]:
    """The statistics of each corpus; an unreadable corpus is reported as unavailable or invalid, not raised."""
    results = []
    for name in names:
        try:
            if not get_corpus(name).paper:
                results.append(_collect_added(name, corpora_dir, download))
                continue
            splits = {split: read_corpus(name, split, corpora_dir, download=download) for split in SPLITS}
        except CorpusUnavailableError as error:
            results.append({"corpus": name, "available": False, "error": str(error), "notes": get_corpus(name).notes})
            continue
        except CorpusFormatError as error:
            results.append({"corpus": name, "available": False, "error": f"invalid: {error}", "notes": ""})
            continue
        results.append(corpus_stats(name, splits))
    return results


def _collect_added(name: str, corpora_dir, download) -> dict:
    """`added_corpus_stats` with the counts of `read_added_split`."""
    from .corpora import resolve_corpora_dir
    from .extra_corpora import read_added_split

    corpus = get_corpus(name)
    root = resolve_corpora_dir(corpora_dir)
    read = {split: read_added_split(corpus, split, root, download) for split in corpus.splits}
    return added_corpus_stats(name, {s: r[0] for s, r in read.items()}, {s: r[1] for s, r in read.items()})


def format_added_table(results: list[dict]) -> str:
    """A Markdown table of the added corpora (`added_corpus_stats` results)."""
    lines = [
        "| corpus | type | licence | type_only | split | documents | sentences | mentions | dropped documents "
        "| IOB2 errors | left out or joined (whole file) | widened |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for result in results:
        for row in result["splits"]:
            left_out = ", ".join(f"{key} {count}" for key, count in row["left_out"].items())
            lines.append(
                f"| {result['corpus']} | {result['entity_type']} | {result['licence']} | {result['type_only']} "
                f"| {row['split']} | {row['documents']} | {row['sentences']} | {row['entities']} "
                f"| {'' if row['dropped_documents'] is None else row['dropped_documents']} | {row['iob2_violations']} "
                f"| {left_out} | {row['widened'] or ''} |"
            )
    return "\n".join(lines)


def _percent(value: float) -> str:
    return f"{value:+.1%}"


def format_table(results: list[dict]) -> str:
    """A Markdown table; `*` marks a difference to Table 2 over 2 %, and notes explain flagged corpora."""
    lines = [
        "| corpus | split | sentences | Table 2 | diff | entities | Table 2 entities | diff | IOB2 errors "
        "| shared with train |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    footnotes = []
    added = [result for result in results if result.get("added")]
    for result in results:
        name = result["corpus"]
        if result.get("added"):
            continue
        if not result["available"]:
            lines.append(f"| {name} | unavailable | | | | | | | | |")
            footnotes.append(f"- {name}: {result['error']}")
            continue
        for row in result["splits"]:
            shared = "" if row["shared_with_train"] is None else row["shared_with_train"]
            lines.append(
                f"| {name} | {row['split']} | {row['sentences']} | {row['table2_sentences']} "
                f"| {_percent(row['difference'])}{' *' if row['flagged'] else ''} | {row['entities']} | | "
                f"| {row['iob2_violations']} | {shared} |"
            )
        lines.append(
            f"| {name} | all | {sum(row['sentences'] for row in result['splits'])} "
            f"| {sum(row['table2_sentences'] for row in result['splits'])} | | {result['entities']} "
            f"| {result['table2_entities']} | {_percent(result['entity_difference'])}"
            f"{' *' if result['entities_flagged'] else ''} | | |"
        )
        flagged = result["entities_flagged"] or any(row["flagged"] for row in result["splits"])
        if flagged and result["notes"]:
            footnotes.append(f"- {name} (*): {result['notes']}")
    text = "\n".join(lines + ([""] + footnotes if footnotes else []))
    return text + ("\n\nAdded corpora (train and validation only):\n\n" + format_added_table(added) if added else "")
