"""Export the corpora as a folder laid out as a Hub dataset repository (org/vaner-corpora).

The folder holds one parquet file per corpus and split, and a README.md dataset card whose YAML `configs`
name one config per corpus plus `all`, so that `load_dataset(folder, "ncbi")` works offline.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import datasets
import yaml

from .corpora import CORPORA, MTL_CITATION, SPLITS, CorpusUnavailableError, resolve_corpora_dir
from .stats import corpus_stats, format_table
from .vaner_corpora import VanerCorpora

ALL_CONFIG = "all"
# Licences under which a corpus is not redistributed: nothing says it may be (the corpus table's licence column).
NOT_EXPORTED_LICENCES = frozenset({"none stated"})
REPO_ID = "org/vaner-corpora"  # the repository the card names; `vaner stage --namespace` sets the real one


def parquet_path(name: str, split: str) -> str:
    return f"{name}/{split}-00000-of-00001.parquet"


def build(name: str, corpora_dir, cache_dir: str) -> datasets.DatasetDict:
    """The prepared splits of one corpus; CorpusUnavailableError when its files are missing.

    Raises:
        CorpusUnavailableError: a file of the corpus is missing.
    """
    builder = VanerCorpora(config_name=name, corpora_dir=corpora_dir, cache_dir=cache_dir)
    try:
        builder.download_and_prepare()
    except datasets.exceptions.DatasetGenerationError as error:
        if isinstance(error.__cause__, CorpusUnavailableError):
            raise error.__cause__ from None
        raise
    return builder.as_dataset()


def export(out_dir, corpora_dir=None, names=tuple(CORPORA), repo_id: str = REPO_ID) -> dict:
    """Write the Hub folder; returns {"exported": [names], "unavailable": {name: reason}, "stats": [...]}.
    An entry point (`vaner data export`, `hub.stage`): `corpora_dir`, else $VANER_CORPORA_DIR, is resolved here.
    A corpus whose licence is in `NOT_EXPORTED_LICENCES` is not exported (listed as not included, with why).

    Raises:
        CorpusUnavailableError: no corpus could be read.
    """
    out_dir = Path(out_dir)
    root = resolve_corpora_dir(corpora_dir)
    exported, unavailable, results = [], {}, []
    with tempfile.TemporaryDirectory() as cache_dir:
        for name in names:
            if CORPORA[name].licence in NOT_EXPORTED_LICENCES:
                unavailable[name] = f"licence {CORPORA[name].licence!r}: not redistributed"
                continue
            try:
                dataset = build(name, None if root is None else str(root), cache_dir)
            except CorpusUnavailableError as error:
                unavailable[name] = str(error)
                continue
            for split in CORPORA[name].splits:
                path = out_dir / parquet_path(name, split)
                path.parent.mkdir(parents=True, exist_ok=True)
                dataset[split].to_parquet(str(path))
            results.append(corpus_stats(name, dataset))
            exported.append(name)
    if not exported:
        first = next(iter(unavailable.values()), "no corpus named")
        raise CorpusUnavailableError(f"no corpus could be read ({len(unavailable)} unavailable), e.g. {first}")
    (out_dir / "README.md").write_text(dataset_card(exported, unavailable, results, root, repo_id), encoding="utf-8")
    return {"exported": exported, "unavailable": unavailable, "stats": results}


def _configs(exported: list[str]) -> list[dict]:
    configs = [
        {
            "config_name": ALL_CONFIG,
            "data_files": [  # the added corpora have no test split
                {
                    "split": split,
                    "path": [parquet_path(name, split) for name in exported if split in CORPORA[name].splits],
                }
                for split in SPLITS
            ],
            "default": True,
        }
    ]
    configs += [
        {
            "config_name": name,
            "data_files": [{"split": split, "path": parquet_path(name, split)} for split in CORPORA[name].splits],
        }
        for name in exported
    ]
    return configs


def _sources(corpus) -> str:
    return "<br>".join(
        f"{split}: {spec.source.url}" + (f" minus the {' and '.join(spec.minus)} sentences" if spec.minus else "")
        for split, spec in corpus.splits.items()
    )


def dataset_card(
    exported: list[str], unavailable: dict[str, str], results: list[dict], corpora_dir, repo_id: str = REPO_ID
) -> str:
    metadata = {
        "pretty_name": "VANER corpora",
        "language": ["en"],
        "license": sorted({CORPORA[name].licence for name in exported}),
        "task_categories": ["token-classification"],
        "task_ids": ["named-entity-recognition"],
        "tags": ["biomedical", "biology", "ner"],
        "configs": _configs(exported),
    }
    corpus_rows = "\n".join(
        f"| `{name}` | {corpus.display_name} | {corpus.entity_type} | {corpus.licence} | {_sources(corpus)} |"
        for name, corpus in ((name, CORPORA[name]) for name in exported)
    )
    repairs = "\n".join(
        f"- `{name}`: `{repair.source}` line {repair.line}: {repair.field} `{repair.old}` -> `{repair.new}` "
        f"({repair.reason})"
        for name in exported
        for repair in CORPORA[name].repairs
    )
    citations = "\n".join(f"- **{CORPORA[name].display_name}**: {CORPORA[name].citation}" for name in exported)
    missing = "\n".join(
        f"- `{name}`: {reason if CORPORA[name].licence in NOT_EXPORTED_LICENCES else CORPORA[name].notes or reason}"
        for name, reason in unavailable.items()
    )
    source = "the public URLs" if corpora_dir is None else f"a local mirror (`--corpora-dir {corpora_dir}`)"
    found = {CORPORA[name].entity_type for name in exported}
    ordered = [t for t in ("Disease", "Chemical", "Gene", "Species", "CellLine", "CellType") if t in found]
    types = ", ".join(ordered[:-1]) + f" or {ordered[-1]}" if len(ordered) > 1 else ordered[0]
    return f"""---
{yaml.safe_dump(metadata, sort_keys=False).strip()}
---

# VANER corpora

The biomedical NER corpora used to train VANER, one config per corpus (`all` concatenates them).
Each sentence carries one entity type, tagged IOB2 (`ner_tags`: 0 = O, 1 = B, 2 = I).

```python
from datasets import load_dataset

ncbi = load_dataset("{repo_id}", "ncbi")
```

Columns: `id`, `document_id` (the abstract, where the source marks abstracts), `tokens`, `ner_tags`,
`entity_type` ({types}) and `corpus`.

## Corpora

| config | corpus | entity type | licence | sources |
|---|---|---|---|---|
{corpus_rows}

Where a source has several entity types (JNLPBA), they are mapped as BioBERT and VANER count them: protein,
DNA and RNA are the Gene class, cell_line and cell_type are O.

## Not included

{missing or "All corpora are included."}

## Statistics

Sentences per split and entities (B tags) against Table 2 of the VANER paper; `*` marks a difference over 2 %.
Built from {source} with `vaner data export`.

{format_table(results)}

## Repairs of known source defects

{repairs or "None."}

## Citations

{citations}

Token<TAB>tag preprocessing (MTL-Bioinformatics-2016): {MTL_CITATION}
"""
