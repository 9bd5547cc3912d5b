"""External check: how many of the positive entities the VANER authors retrieved from UMLS (`umls_kg`, first list)
for the dev sentences of BC2GM, ncbi and s800 does our retrieval return for the same sentences?

Per file: the share of their positives (one count per sentence and name) that are among our retrieved names for that
sentence (all types, before sampling), compared exactly and case/space-normalized (`name_key`), and the share that
is in our knowledge base at all, which separates a coverage gap (UMLS names we do not hold) from a retrieval gap.
"""

from collections.abc import Sequence
from pathlib import Path

from .kb import read_jsonl
from .text import name_key

CHECK_FILES = {"bc2gm": "vaner_dbr/BC2GM/dev_df_mix2.jsonl", "ncbi": "vaner_dbr/ncbi/dev_df_mix2.jsonl",
               "s800": "vaner_dbr/s800/dev_df_mix2.jsonl"}
QUERY_SOURCES = ("mined", "auto_ent")


def _share(hits: int, total: int) -> float:
    return round(100 * hits / total, 2) if total else 0.0


def check_file(builder, path: Path, limit: int | None = None, queries: str = "mined") -> dict:
    """Counts and shares for one VANER dev file (the first `limit` sentences). `queries`: "mined" (our phrase
    miner) or "auto_ent" (the authors' AutoPhrase phrases stored in the file), to separate mining from retrieval.

    Raises:
        ValueError: an unknown `queries` source.
    """
    if queries not in QUERY_SOURCES:
        raise ValueError(f"queries must be one of {QUERY_SOURCES}, got {queries!r}")
    records = [record for _, record in read_jsonl(path)][:limit]
    sentences = [{"tokens": record["tokens"][1:]} for record in records]  # tokens[0] is the VANER prompt
    phrases = (
        [list(dict.fromkeys(record.get("auto_ent") or [])) for record in records] if queries == "auto_ent" else None
    )
    kb = builder.kb
    kb_keys = set(map(name_key, kb.names))
    total = exact = normalized = covered = 0
    for record, rows in zip(records, builder.candidates(sentences, phrases)):
        theirs = {name for name, _type in (record.get("umls_kg") or [[]])[0]}
        ours = {kb.names[row] for row in rows}
        our_keys = set(map(name_key, ours))
        total += len(theirs)
        exact += len(theirs & ours)
        normalized += sum(name_key(name) in our_keys for name in theirs)
        covered += sum(name_key(name) in kb_keys for name in theirs)
    return {"file": str(path), "queries": queries, "sentences": len(records), "positives": total,
            "in_kb_normalized": _share(covered, total),
            "retrieved_exact": _share(exact, total), "retrieved_normalized": _share(normalized, total)}


def external_check(builder, corpora_dir: str | Path, files: Sequence[str] = tuple(CHECK_FILES),
                   limit: int | None = None, queries: str = "mined") -> list[dict]:
    """`check_file` for each of `files` (keys of `CHECK_FILES`) under `corpora_dir`.

    Raises:
        ValueError: a file name without a umls_kg file.
        FileNotFoundError: a VANER dev file is missing.
    """
    unknown = [f for f in files if f not in CHECK_FILES]
    if unknown:
        raise ValueError(f"no umls_kg file for {unknown}; known: {', '.join(CHECK_FILES)}")
    results = []
    for name in files:
        path = Path(corpora_dir) / CHECK_FILES[name]
        if not path.is_file():
            raise FileNotFoundError(f"VANER dev file with umls_kg not found: {path}")
        results.append({"corpus": name, **check_file(builder, path, limit, queries)})
    return results
