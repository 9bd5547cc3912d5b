"""The VANER training mixture (corpus sentences plus their dense sentences) and its export as a Hub dataset folder.

Record format (what the trainer consumes), one dict per sentence:

    id                   str         unique ("ncbi-train-12", its dense sentence "ncbi-train-12-dbr")
    tokens               list[str]   the words
    ner_tags             list[int]   0=O, 1=B, 2=I
    entity_type          str         Disease, Chemical, Gene or Species (the corpus's type)
    corpus               str         origin corpus ("ncbi", ...)
    instruction_dataset  str | None  the dataset name for the instruction; None = type-only instruction (DBR)
    source               str         "corpus" or "dbr"
    document_id          str | None  the document the sentence comes from (a DBR sentence: its corpus sentence's),
                                     where the reader knows it (the training manifest records it)

Each corpus sentence is followed by its dense sentence (when retrieval found entities). Shuffling is the trainer's job.
Rows with the type-only instruction follow the type-only guideline (`apply_type_only_guideline`, docs/GUIDELINES.md).
"""

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from dataset_scripts.corpora import CORPUS_TYPES, check_corpus_names, resolve_corpora_dir

from .assembly import DBRBuilder, DBRConfig, check_variant
from .kb import DEFAULT_SOURCES, KB_SOURCES, load_kb
from .retrieval import DEFAULT_ENCODER, Retriever

RECORD_KEYS = ("id", "tokens", "ner_tags", "entity_type", "corpus", "instruction_dataset", "source", "document_id")
DEFAULT_SEED = 42
DATASET_REPO_ID = "org/vaner-dbr"


def load_builder(corpora_dir=None, kb_dir=None, kb_sources: Sequence[str] = DEFAULT_SOURCES, user_tsvs=(),
                 encoder: str = DEFAULT_ENCODER, seed: int = DEFAULT_SEED, cache_dir=None,
                 config: DBRConfig | None = None, progress: bool = True) -> DBRBuilder:
    """Knowledge base, retrieval index (both cached) and a `DBRBuilder` over them. An entry point: `corpora_dir`,
    else $VANER_CORPORA_DIR, is resolved here (`resolve_corpora_dir`) and passed down."""
    corpora_dir = resolve_corpora_dir(corpora_dir)
    kb = load_kb(kb_dir, corpora_dir, kb_sources, user_tsvs, cache_dir=cache_dir, progress=progress)
    retriever = Retriever.load_or_build(kb, encoder, cache_dir=cache_dir, seed=seed, progress=progress)
    return DBRBuilder(retriever, config, cache_dir=cache_dir)


def corpus_records(corpus: str, split: str, corpora_dir=None, limit: int | None = None) -> list[dict]:
    """The corpus sentences of one split as mixture records (dataset instruction), the first `limit` of them.
    `corpora_dir`: already resolved, or None (read as `read_corpus` reads it)."""
    from .corpus import read_split

    return mixture_records(read_split(corpus, split, corpora_dir)[:limit], corpus)


def mixture_records(sentences: list[dict], corpus: str) -> list[dict]:
    """Corpus sentences as mixture records.

    Args:
        sentences (`list[dict]`): Records as `read_corpus` returns them.
        corpus (`str`): Their corpus, the instruction's dataset name.

    Returns:
        `list[dict]`: records with exactly `RECORD_KEYS`, the dataset instruction and source "corpus".
    """
    return [
        {
            **{k: s[k] for k in RECORD_KEYS[:5]},
            "instruction_dataset": corpus,
            "source": "corpus",
            "document_id": s.get("document_id"),
        }
        for s in sentences
    ]


def apply_type_only_guideline(records: list[dict], corpus: str) -> tuple[list[dict], Counter]:
    """The mixture records of `corpus` with each type-only row (`instruction_dataset` None) under the type-only
    guideline, as the corpus table's `type_only` decides: "converted", its labels converted
    (`dataset_scripts.guideline`); "as-is", unchanged; "dataset-only", given the dataset instruction instead (its
    dense sentences, labelled by its own mentions, then teach its guideline, not the type-only one). Rows with the
    dataset instruction keep the corpus gold.

    Args:
        records (`list[dict]`): Mixture records of one corpus (this module's format).
        corpus (`str`): Their corpus.

    Returns:
        `tuple[list[dict], Counter]`: the records (new dicts where changed, in order) and the counts: "rows" (the
        type-only rows) and the entities "trimmed", "dropped" and "added" in them (`guideline_records`); for a
        dataset-only corpus, "dataset_instruction" (the rows given it).

    Raises:
        ValueError: an unknown corpus.
    """
    from dataset_scripts.guideline import guideline_records, type_only_policy

    policy = type_only_policy(corpus)
    type_only = [index for index, record in enumerate(records) if record["instruction_dataset"] is None]
    if policy == "dataset-only":
        counts = Counter(dataset_instruction=len(type_only))
        records = [{**r, "instruction_dataset": corpus} if r["instruction_dataset"] is None else r for r in records]
        return records, counts
    converted, counts = guideline_records([records[index] for index in type_only], corpus)
    result = list(records)
    for index, record in zip(type_only, converted):
        result[index] = record
    counts["rows"] = len(type_only)
    return result, counts


def build_training_mixture(corpora: Sequence[str], split: str = "train", variant: str = "dbr", corpora_dir=None,
                           seed: int = DEFAULT_SEED, limit: int | None = None, builder: DBRBuilder | None = None,
                           use_cache: bool = True, progress: bool = True, **builder_options) -> list[dict]:
    """The training mixture of `corpora`: per corpus sentence, the sentence and then its dense sentence.

    corpora: corpus names (of the corpus table). split: "train", or "validation" when a dev split
    trains too (`train_with_dev`). variant: "dbr", "random" or "none". seed: the dense sentences are a function of
    (seed, variant, sentence id, knowledge base, encoder). limit: first `limit` sentences of each corpus.
    builder: a ready `DBRBuilder`; else one is made by `load_builder(corpora_dir=..., seed=..., **builder_options)`
    (kb_dir, kb_sources, user_tsvs, encoder, cache_dir, config). Returns records in the format of this module's
    docstring (exactly `RECORD_KEYS`). An entry point: `corpora_dir`, else $VANER_CORPORA_DIR, is resolved here.
    """
    check_variant(variant)
    corpora_dir = resolve_corpora_dir(corpora_dir)
    mixture = []
    for corpus in check_corpus_names(corpora):
        sentences = corpus_records(corpus, split, corpora_dir, limit)
        dense = {}
        if variant != "none":
            builder = builder or load_builder(corpora_dir=corpora_dir, seed=seed, progress=progress, **builder_options)
            built = builder.build(sentences, f"{corpus}-{split}", variant, seed, use_cache=use_cache, progress=progress)
            dense = {record["id"]: {k: record[k] for k in RECORD_KEYS[:-1]} for record in built}
        for sentence in sentences:
            mixture.append(sentence)
            if f"{sentence['id']}-dbr" in dense:
                mixture.append({**dense[f"{sentence['id']}-dbr"], "document_id": sentence["document_id"]})
    return mixture


def build_split_records(corpus: str, split: str = "train", variant: str = "dbr", corpora_dir=None,
                        seed: int = DEFAULT_SEED, limit: int | None = None, *, mixture: bool = False,
                        use_cache: bool = True, progress: bool = True, **builder_options) -> list[dict]:
    """The dense sentences of one corpus split (`vaner dbr build`), or with `mixture` its training mixture (each
    corpus sentence followed by its dense sentence, as `build_training_mixture`). `limit`: the first `limit` corpus
    sentences; `builder_options`: as `build_training_mixture`'s. Shards are cached (resumable) unless `use_cache` is
    False. An entry point: `corpora_dir`, else $VANER_CORPORA_DIR, is resolved here.

    Raises:
        ValueError: an unknown variant or corpus. FileNotFoundError: a corpus file is missing.
    """
    check_variant(variant)
    corpora_dir = resolve_corpora_dir(corpora_dir)
    if mixture:
        return build_training_mixture([corpus], split, variant, corpora_dir, seed, limit, use_cache=use_cache,
                                      progress=progress, **builder_options)
    sentences = corpus_records(corpus, split, corpora_dir, limit)
    builder = load_builder(corpora_dir=corpora_dir, seed=seed, progress=progress, **builder_options)
    return builder.build(sentences, f"{corpus}-{split}", variant, seed, use_cache=use_cache, progress=progress)


def _features():
    from datasets import ClassLabel, Features, List, Value

    return Features({"id": Value("string"), "tokens": List(Value("string")),
                     "ner_tags": List(ClassLabel(names=["O", "B", "I"])), "entity_type": Value("string"),
                     "corpus": Value("string"), "instruction_dataset": Value("string"), "source": Value("string"),
                     "document_id": Value("string")})


def export_dataset(output_dir: str | Path, corpora: Sequence[str], variant: str = "dbr", corpora_dir=None,
                   seed: int = DEFAULT_SEED, limit: int | None = None, repo_id: str = DATASET_REPO_ID,
                   progress: bool = True, **builder_options) -> Path:
    """Write the training mixture as a Hub dataset folder: `data/<corpus>/train.parquet`, README.md with one config
    per corpus plus `mix` (all corpora; the default), and `kb_stats.json`. `load_dataset(output_dir, "ncbi")` works
    offline. Returns the folder. An entry point: `corpora_dir`, else $VANER_CORPORA_DIR, is resolved here."""
    from datasets import Dataset

    corpora = check_corpus_names(corpora)
    corpora_dir = resolve_corpora_dir(corpora_dir)
    output = Path(output_dir)
    builder = None if variant == "none" else load_builder(corpora_dir=corpora_dir, seed=seed, progress=progress,
                                                          **builder_options)
    counts = {}
    for corpus in corpora:
        records, guideline = apply_type_only_guideline(
            build_training_mixture([corpus], "train", variant, corpora_dir, seed, limit, builder, progress=progress),
            corpus,
        )
        path = output / "data" / corpus / "train.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        Dataset.from_list(records, features=_features()).to_parquet(str(path))
        counts[corpus] = {source: sum(r["source"] == source for r in records) for source in ("corpus", "dbr")}
        counts[corpus]["guideline"] = "/".join(str(guideline[key]) for key in ("trimmed", "dropped", "added"))
    kb_stats = builder.kb.stats if builder else None
    (output / "kb_stats.json").write_text(json.dumps(kb_stats, indent=2) + "\n", encoding="utf-8")
    (output / "README.md").write_text(_dataset_card(repo_id, corpora, counts, variant, seed, limit, kb_stats, builder),
                                      encoding="utf-8")
    return output


def _dataset_card(repo_id, corpora, counts, variant, seed, limit, kb_stats, builder) -> str:
    import yaml

    from dataset_scripts.corpora import get_corpus

    configs = [{"config_name": "mix", "default": True,
                "data_files": [{"split": "train", "path": [f"data/{c}/train.parquet" for c in corpora]}]}]
    configs += [
        {"config_name": c, "data_files": [{"split": "train", "path": f"data/{c}/train.parquet"}]} for c in corpora
    ]
    header = yaml.safe_dump({"pretty_name": "VANER DBR training mixture", "license": "other", "language": ["en"],
                             "task_categories": ["token-classification"], "tags": ["biomedical", "ner", "vaner"],
                             "configs": configs}, sort_keys=False).strip()
    rows = "\n".join(f"| {c} | {CORPUS_TYPES[c]} | {n['corpus']} | {n['dbr']} | {n['guideline']} | "
                     f"{get_corpus(c).licence} |" for c, n in counts.items())
    kb_table = "_no knowledge base (variant none)_"
    if kb_stats:
        types = list(kb_stats["by_type"])
        kb_table = "\n".join([f"| source | {' | '.join(types)} |", "|---" * (len(types) + 1) + "|"]
                             + [f"| {s} | {' | '.join(str(v[t]) for t in types)} |"
                                for s, v in kb_stats["by_source"].items()]
                             + [f"| **all (deduplicated)** | "
                                f"{' | '.join(str(kb_stats['by_type'][t]) for t in types)} |"])
        kb_table += "\n\nSource licences:\n\n" + "\n".join(
            f"- `{s}`: {KB_SOURCES[s].description}. {KB_SOURCES[s].licence}"
            for s in kb_stats["by_source"] if s in KB_SOURCES)
    encoder = builder.retriever.encoder.__class__.__name__ if builder else "-"
    config = builder.config if builder else None
    return f"""---
{header}
---

# {repo_id}: VANER training mixture with Dense Bioentities Recognition

Each corpus sentence (`source: corpus`) carries the instruction of its dataset (`instruction_dataset` = corpus
name); each is followed by its dense sentence (`source: dbr`, `instruction_dataset: null`, type-only instruction):
knowledge-base names retrieved for phrases of the sentence, at most 10 of the corpus's type (labelled B/I) and 5
of other types (O), shuffled and concatenated (VANER paper, section 3.4). Dense sentences follow the type-only
guideline (VANER's docs/GUIDELINES.md: "IL-2 gene" is tagged "IL-2"); the column "guideline" counts the entities it
trimmed/dropped/added; a corpus that cannot follow it keeps its dataset instruction on them.

Built by `vaner dbr export` (modeling_vaner/dbr) with variant `{variant}`, seed {seed}, limit {limit},
encoder {encoder}, settings {config}. Configs: one per corpus and `mix` (all of them).

```python
from datasets import load_dataset
mix = load_dataset("{repo_id}", "mix", split="train")  # or a local copy of this folder
```

## Sentences

| config | type | corpus sentences | dense sentences | guideline | corpus licence |
|---|---|---|---|---|---|
{rows}

## Knowledge base

Names per source and type (a name from several sources counts once per source). Only TRAIN splits contribute
corpus names; S800 mentions come from TRAIN documents only; sources built from dev splits (`chemdner_dev`,
`vaner_umls_kg`) are off unless listed here.

{kb_table}

## Licences

`license: other`: the records derive from corpora and dictionaries under their own terms (listed above). Check each
before redistribution; CTD data require citation of CTD, and UMLS-derived names (only with a user UMLS export or
`vaner_umls_kg`) fall under the UMLS licence.
"""
