"""The training manifest: which sentences a run trained on, one JSON line per training record, written into the run
folder (`MANIFEST_FILE`) so that a run's data can be audited against held-out sets after the fact (issue 33: no
document of a dev or test split may reach training).
"""

import json
from pathlib import Path

from dataset_scripts.corpora import SPLITS
from dataset_scripts.extra_corpora import sentence_hash

MANIFEST_FILE = "training_manifest.jsonl"


def manifest_rows(records: list[dict]) -> list[dict]:
    """One row per training record: its corpus, split, id, document id and sentence hash.

    Args:
        records (`list[dict]`): Training records (`training_records`: corpus sentences, their DBR sentences, users'
            files).

    Returns:
        `list[dict]`: {"corpus", "split" (parsed from the id "<corpus>-<split>-<n>"; None for a user's file),
            "source" ("corpus", "dbr", ...; None where the record does not say), "id", "document_id" (the PMID as
            "PMID:<n>" where the reader gives one, None where the record carries none), "sentence_sha1" (SHA-1 of
            the sentence with whitespace removed, `extra_corpora.sentence_hash`)}, in record order.
    """
    rows = []
    for record in records:
        corpus = record["corpus"]
        split = next((split for split in SPLITS if record["id"].startswith(f"{corpus}-{split}-")), None)
        rows.append(
            {
                "corpus": corpus,
                "split": split,
                "source": record.get("source"),
                "id": record["id"],
                "document_id": record.get("document_id"),
                "sentence_sha1": sentence_hash(record["tokens"]),
            }
        )
    return rows


def write_training_manifest(records: list[dict], output_dir: str | Path) -> Path:
    """Write `manifest_rows(records)` as JSON lines to `output_dir / MANIFEST_FILE` (replaced on a resumed run: the
    same records).

    Returns:
        `Path`: the file written.
    """
    path = Path(output_dir) / MANIFEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        for row in manifest_rows(records):
            stream.write(json.dumps(row) + "\n")
    return path
