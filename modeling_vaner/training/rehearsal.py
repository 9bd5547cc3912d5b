"""Rehearsal: the first training sentences of each built-in corpus that a fine-tune on a user's files (`train_files`)
trains on beside them, so that the types the model already tags are not forgotten (`train_limit_per_corpus: 30` in
configs/finetune.yaml).

So that a fine-tune needs no corpora mirror, the package ships the first `SHIPPED_SENTENCES` training sentences of
every rehearsal corpus (the paper's and `ADDED_REHEARSAL`) whose licence allows redistribution
(`REDISTRIBUTABLE_LICENCES`, the licence column of the corpus table): `rehearsal.jsonl` beside this module, the very
records `read_corpus` returns, with the sources and licences in `REHEARSAL.md` beside it. `training_records` takes a
corpus's sentences from there whenever they cover what it needs (the train split, the first N <= `SHIPPED_SENTENCES`
sentences, no DBR) and no corpora directory is given, or, in a fine-tune, the directory lacks the corpus's files (the
added corpora are not in ../shared/corpora); with a directory that holds them it reads the corpora, as for any other
training (the same rows: an integration test compares them). Corpora not shipped (their licence: s800 "other",
bc4chemd "unknown") are read from the corpora directory, else downloaded; in a fine-tune, one that cannot be is left
out with a notice (`training_records`).

Pseudo-label rehearsal (`pseudo_label_records`, `pseudo_label_rehearsal: true` in configs/finetune.yaml): the
shipped sentences hold a type against forgetting, not against a new type that shares its words (a CellType fine-tune
taught the model to tag cell types as CellLine too). So the user's own sentences are also trained under each type the
model tagged before the fine-tune, labelled by that model (learning without forgetting: Li and Hoiem, "Learning
without Forgetting", IEEE TPAMI 2018): "macrophages" stays O under CellLine because the model said so before.

Both files are built from the corpora by `vaner data rehearsal --corpora-dir DIR` (`build_rehearsal_file`), DIR
holding the added corpora's files too (`python -m dataset_scripts.extra_corpora`).
"""

import json
import os
from functools import lru_cache
from pathlib import Path

from dataset_scripts.corpora import CORPORA, PAPER_CORPORA, read_corpus, resolve_corpora_dir

REHEARSAL_FILE = Path(__file__).with_name("rehearsal.jsonl")
CREDITS_FILE = "REHEARSAL.md"  # beside the rehearsal file: sources, licences, citations
SHIPPED_SENTENCES = 30  # per corpus: configs/finetune.yaml's train_limit_per_corpus
# Licences of the corpus table that allow redistribution (with attribution: CREDITS_FILE).
REDISTRIBUTABLE_LICENCES = frozenset({"cc0-1.0", "cc-by-3.0", "cc-by-4.0"})
PSEUDO_LABEL_SOURCE = "pseudo-label"  # the `source` of a pseudo-labelled record (the training manifest shows it)
# The added corpora a fine-tune rehearses beside the paper's: the types vaner-smol 3 tags that no paper corpus
# annotates (CellLine), which would otherwise drift in a fine-tune.
ADDED_REHEARSAL = ("jnlpba-cellline",)


def shipped_corpora() -> list[str]:
    """The corpora whose rehearsal sentences the package ships.

    Returns:
        `list[str]`: the paper corpora, then `ADDED_REHEARSAL`, whose licence is in `REDISTRIBUTABLE_LICENCES`, in the
        table's order.
    """
    return [name for name in (*PAPER_CORPORA, *ADDED_REHEARSAL) if CORPORA[name].licence in REDISTRIBUTABLE_LICENCES]


def build_rehearsal_file(
    corpora_dir: str | os.PathLike | None = None,
    path: str | os.PathLike = REHEARSAL_FILE,
    limit: int = SHIPPED_SENTENCES,
) -> dict[str, int]:
    """Write the shipped rehearsal sentences: the first `limit` records of the train split of every corpus of
    `shipped_corpora()`, one JSON object per line in the table's order, exactly as `read_corpus` returns them, and the
    credits file (`CREDITS_FILE`: source, licence and citation of each) beside it. An entry point: `corpora_dir`, else
    $VANER_CORPORA_DIR, is resolved here.

    Args:
        corpora_dir (`str` or `os.PathLike`, *optional*): The corpora directory (None: the public URLs).
        path (`str` or `os.PathLike`): The JSONL file to write (default: the package's `REHEARSAL_FILE`).
        limit (`int`): Sentences per corpus.

    Returns:
        `dict[str, int]`: the sentences written per corpus.

    Raises:
        CorpusUnavailableError: a corpus file is missing (offline, or not in `corpora_dir`).
        CorpusFormatError: a malformed line of a corpus file.
    """
    corpora_dir = resolve_corpora_dir(corpora_dir)
    path = Path(path)
    written, lines = {}, []
    for name in shipped_corpora():
        records = read_corpus(name, "train", corpora_dir)[:limit]
        lines += [json.dumps(record, ensure_ascii=False) + "\n" for record in records]
        written[name] = len(records)
    path.write_text("".join(lines), encoding="utf-8")
    (path.parent / CREDITS_FILE).write_text(credits_text(written, path.name), encoding="utf-8")
    read_shipped.cache_clear()
    return written


def credits_text(written: dict[str, int], file_name: str) -> str:
    """The credits file's text.

    Args:
        written (`dict[str, int]`): The sentences shipped per corpus.
        file_name (`str`): The rehearsal file's name.

    Returns:
        `str`: Markdown: what `file_name` holds, and per corpus its count, licence, source file and citation.
    """
    lines = [
        "# Rehearsal sentences shipped with VANER",
        "",
        f"`{file_name}` holds the first training sentences of the corpora below, as VANER's corpus readers return "
        "them (`modeling_vaner/training/rehearsal.py`; built by `vaner data rehearsal`): converted from the source "
        "files below to JSON records, tokens and tags unchanged. Each corpus's licence (as stated by its sources: "
        "see dataset_scripts/CORPORA.md) allows redistribution, the CC BY ones with this attribution.",
        "",
        "| corpus | sentences | licence | source | citation |",
        "|---|---:|---|---|---|",
    ]
    for name, count in written.items():
        corpus = CORPORA[name]
        train = corpus.splits["train"]
        # a corpus labelled from other files (JNLPBA's cell lines: BaderLab's GENIA labels) credits them too
        sources = " (labels: " + ", ".join(s.url for s in train.label_sources) + ")" if train.label_sources else ""
        lines.append(f"| {corpus.display_name} | {count} | {corpus.licence} | {train.source.url}{sources} | "
                     f"{corpus.citation} |")
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def read_shipped(path: str = str(REHEARSAL_FILE)) -> dict[str, tuple[dict, ...]]:
    """The shipped rehearsal records (read once per process).

    Args:
        path (`str`): The rehearsal file (default: the package's).

    Returns:
        `dict[str, tuple[dict, ...]]`: per corpus, its records in file order.

    Raises:
        FileNotFoundError: the file is missing (a damaged install).
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: the package's rehearsal sentences are missing; reinstall vaner")
    shipped: dict[str, list[dict]] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            shipped.setdefault(record["corpus"], []).append(record)
    return {name: tuple(records) for name, records in shipped.items()}


def shipped_rehearsal(corpus: str, limit: int | None) -> list[dict] | None:
    """The first training sentences of a corpus from the shipped file.

    Args:
        corpus (`str`): A corpus of the table.
        limit (`int`, *optional*): How many (None: the whole split).

    Returns:
        `list[dict]` or `None`: the first `limit` records of the train split, as `read_corpus` returns them; None
        where the file does not hold them all (a corpus not shipped, `limit` None or over what is shipped).
    """
    if limit is None or corpus not in shipped_corpora():
        return None
    records = read_shipped().get(corpus, ())
    return [dict(record) for record in records[:limit]] if limit <= len(records) else None


def pseudo_label_records(tagger, records: list[dict], entity_types: list[str], batch_size: int | None = None):
    """Pseudo-label rehearsal: the sentences of a user's training records under each of `entity_types` (the types
    the model tags before a fine-tune), labelled by `tagger` (that model) with the type-only instruction. A predicted
    span that overlaps an entity of the user's records (any of their types) is left O: the user's labels say what
    those words are. A sentence already annotated for a type by the user gets no pseudo-labelled row of it.

    Args:
        tagger (`VanerTokenClassificationPipeline`): The model before the fine-tune.
        records (`list[dict]`): The user's training records (`file_source_records`: one per sentence and type).
        entity_types (`list[str]`): The types to pseudo-label.
        batch_size (`int`, *optional*): Rows per forward (default: the pipeline's).

    Returns:
        `list[dict]`: per type, then per distinct sentence (tokens compared) in record order, a copy of its first
        record with `entity_type`, `ner_tags` (0=O, 1=B, 2=I per word) the model's, `instruction_dataset` None and
        `source` `PSEUDO_LABEL_SOURCE`.
    """
    from tqdm.auto import tqdm

    from ..processing_vaner import LABEL_O, entity_spans, spans_to_labels

    sentences: dict[tuple, dict] = {}
    for record in records:
        entry = sentences.setdefault(
            tuple(record["tokens"]), {"record": record, "types": set(), "taken": [False] * len(record["tokens"])}
        )
        entry["types"].add(record["entity_type"])
        entry["taken"] = [taken or tag != LABEL_O for taken, tag in zip(entry["taken"], record["ner_tags"])]
    pseudo = []
    for entity_type in tqdm(entity_types, desc="pseudo-labels", unit="type", disable=not entity_types):
        unlabelled = [entry for entry in sentences.values() if entity_type not in entry["types"]]
        if not unlabelled:  # the user annotates this type in every sentence
            continue
        words = [list(entry["record"]["tokens"]) for entry in unlabelled]
        for entry, labels in zip(unlabelled, tagger.tag_words(words, entity_type, batch_size=batch_size)):
            spans = [(first, last) for first, last in entity_spans(labels) if not any(entry["taken"][first:last])]
            pseudo.append({
                **entry["record"],
                "entity_type": entity_type,
                "ner_tags": spans_to_labels(spans, len(labels)),
                "instruction_dataset": None,
                "source": PSEUDO_LABEL_SOURCE,
            })
    return pseudo
