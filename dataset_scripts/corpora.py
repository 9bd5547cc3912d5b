"""The VANER training corpora: one table of facts, and `read_corpus`, which turns a split into records.

Every corpus is described once in `CORPORA` (`corpus_table.py`, re-exported here: entity type, the paper's F1,
the file of each split in a local mirror and at its public URL, the tag types it uses, licence, citation, the
counts of Table 2 of the VANER paper, and the documented repairs of known defects). `read_corpus`, the `datasets`
builder, `vaner data stats` and `vaner data export` are all driven by that table; the file formats are read by
`tagged_files.py`.

A record is a dict with keys `id`, `document_id`, `tokens`, `ner_tags` (0=O, 1=B, 2=I), `entity_type`
and `corpus`.

The corpora directory is resolved at the edges (`resolve_corpora_dir`: the --corpora-dir flag, else
$VANER_CORPORA_DIR, else None, meaning the public URLs): in `vaner`'s main for every command, and in the entry
points a user calls directly, whose docstrings say so (`read_corpus`, and the `VanerCorpora` builder through it;
`export`; `modeling_vaner.hub.stage`; `modeling_vaner.dbr.mixture`'s `load_builder`, `build_training_mixture` and
`export_dataset`). The functions below them (`readable_corpora`, `genia_dev_abstracts`, the DBR knowledge base's
`load_kb`, `resolve_kb_paths`, `s800_train_documents`) take the resolved `Path | None` and read no environment;
resolving a resolved path again changes nothing. `default_corpora_dir` adds ../shared/corpora beside the
repository: the benchmarks' and the tests' default, never the library's.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .corpus_sources import (  # noqa: F401  (re-exported: the table's names are imported from this module)
    AIONER,
    BADERLAB,
    BC5CDR_CITATION,
    BIOBERT,
    BIOBERT_SPLIT_REPAIR,
    HUNFLAIR,
    MTL,
    MTL_CITATION,
    MTL_LICENCE,
    SPLITS,
    VANER,
    Corpus,
    DocumentSplit,
    Repository,
    Source,
    Split,
    aioner,
    baderlab,
    biobert,
    hunflair,
    mtl,
    vaner_jsonl,
)
from .corpus_table import CORPORA, CORPUS_TYPES, PAPER_CORPORA, PAPER_F1  # noqa: F401  (re-exported)
from .tagged_files import Sentence, read_jsonl, read_tagged_file, read_tsv, sentence_records, tag_labels

CORPORA_DIR_ENV = "VANER_CORPORA_DIR"
# The benchmarks' and tests' fallback (`default_corpora_dir`): a checkout beside the shared corpora.
SHARED_CORPORA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
GENIA_DEV_FILE = "JNLPBA/devel.tsv"  # not in the table: JNLPBA's dev split is BioBERT's
# Every command's --corpora-dir; `vaner` resolves it once (`resolve_corpora_dir`) before the command runs.
CORPORA_DIR_HELP = (
    f"local corpora directory laid out like shared/corpora (default: ${CORPORA_DIR_ENV}, else public URLs)"
)


class CorpusUnavailableError(FileNotFoundError):
    """A file of a corpus is not where it is expected."""


def check_corpus_names(names: Sequence[str]) -> list[str]:
    """Corpus names checked against the table, in the order given, each once; `["all"]` is the paper's eight
    (`PAPER_CORPORA`): the added corpora, which have no test split, are named one by one.

    Raises:
        ValueError: no name, or a name the table does not have (named).
    """
    names = list(names)
    if names == ["all"]:
        return list(PAPER_CORPORA)
    unknown = [name for name in names if name not in CORPORA]
    if unknown or not names:
        problem = f"unknown corpus {', '.join(unknown)}" if unknown else "no corpus named"
        raise ValueError(f"{problem}; expected any of {', '.join(CORPORA)} (or all)")
    return list(dict.fromkeys(names))


def get_corpus(name: str) -> Corpus:
    """The corpus table's entry for `name`.

    Raises:
        ValueError: an unknown name.
    """
    try:
        return CORPORA[name]
    except KeyError:
        raise ValueError(f"unknown corpus {name!r}; expected one of {', '.join(CORPORA)}") from None


def resolve_corpora_dir(path: str | os.PathLike | None = None) -> Path | None:
    """The corpora directory: `path` (the --corpora-dir flag), else $VANER_CORPORA_DIR, else None (public URLs).

    Called at the edges only (`vaner`'s main, the entry points a user calls); what they resolve is passed down."""
    value = path if path is not None else os.environ.get(CORPORA_DIR_ENV) or None
    return None if value is None else Path(value).expanduser()


def default_corpora_dir() -> Path | None:
    """The benchmarks' and tests' corpora directory: $VANER_CORPORA_DIR (returned even where it does not exist, so
    that a wrong setting is reported, not replaced), else `SHARED_CORPORA_DIR` (../shared/corpora beside the
    repository) where it is a directory, else None. `vaner` and the library never fall back to ../shared."""
    return resolve_corpora_dir() or (SHARED_CORPORA_DIR if SHARED_CORPORA_DIR.is_dir() else None)


def _path(corpora_dir: str | os.PathLike | None) -> Path | None:
    """An already-resolved corpora directory as a `Path` (None stays None: the public URLs); no environment read."""
    return None if corpora_dir is None else Path(corpora_dir)


def genia_dev_abstracts(corpora_dir: str | os.PathLike | None) -> list[list[list[str]]]:
    """Whole abstracts, for benchmarks that need running text: the 200 of the GENIA shared task's dev file
    (`JNLPBA/devel.tsv`, JNLPBA's dev split before BioBERT's re-split), the one file of the shared corpora whose
    `-DOCSTART-` lines mark abstracts. `corpora_dir`: already resolved (the benchmarks: `default_corpora_dir()`).

    Returns:
        `list[list[list[str]]]`: per abstract, its sentences' tokens, in file order.

    Raises:
        CorpusUnavailableError: no local corpora directory, or the file is missing from it.
    """
    root = _path(corpora_dir)
    path = None if root is None else root / GENIA_DEV_FILE
    if path is None or not path.is_file():
        raise CorpusUnavailableError(f"{path or GENIA_DEV_FILE} not found: set --corpora-dir or {CORPORA_DIR_ENV}")
    documents: dict[str, list[list[str]]] = {}
    for record in read_tagged_file(path, "Gene", "genia", tag_types=CORPORA["jnlpba"].tag_types):
        documents.setdefault(record["document_id"], []).append(record["tokens"])
    return list(documents.values())


def readable_corpora(
    names: list[str], split: str, corpora_dir: str | os.PathLike | None
) -> tuple[list[str], dict[str, str]]:
    """Which corpora of `names` can have their `split` read from `corpora_dir` (already resolved, see
    `resolve_corpora_dir`); None means the public URLs, and then only being offline is checked, not the network.

    Returns:
        `tuple[list[str], dict[str, str]]`: the readable names, in order, and for each other name why it is not.
    """
    root = _path(corpora_dir)
    readable, missing = [], {}
    for name in names:
        corpus = get_corpus(name)
        if split not in corpus.splits:
            missing[name] = f"{name} has no {split} split (an added corpus: train and validation only)"
            continue
        try:
            if root is not None or hub_offline():
                _locate(corpus, split, corpus.splits[split].source, root, None)
            readable.append(name)
        except CorpusUnavailableError as error:
            missing[name] = str(error)
    return readable, missing


def hub_offline() -> bool:
    """Whether `HF_HUB_OFFLINE` forbids downloads (read as huggingface_hub reads it)."""
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def _download(url: str) -> str:
    from datasets import DownloadManager

    return DownloadManager().download(url)


def _locate(corpus: Corpus, split: str, source: Source, corpora_dir: Path | None, download) -> Path:
    """The local path of one split's file: in `corpora_dir`, or downloaded with `download` when it is None.

    Raises:
        CorpusUnavailableError: the file is not in `corpora_dir`, or it cannot be downloaded (offline, or the
            download failed); the message says how to give local files.
    """
    if corpora_dir is None:
        how = f"give the corpora directory with --corpora-dir or {CORPORA_DIR_ENV}, or go online"
        if download is None and hub_offline():  # a caller's own download function decides for itself
            raise CorpusUnavailableError(
                f"{corpus.name} {split}: offline (HF_HUB_OFFLINE is set) and no corpora directory: {how}"
            )
        try:
            return Path((download or _download)(source.url))
        except Exception as error:  # a network failure surfaces as any of several requests/hub errors
            raise CorpusUnavailableError(
                f"{corpus.name} {split}: cannot download {source.url} ({type(error).__name__}): {how}"
            ) from error
    path = corpora_dir / source.local
    if not path.is_file():
        raise CorpusUnavailableError(
            f"{corpus.name} {split}: expected file {path} does not exist. Set --corpora-dir or "
            f"{CORPORA_DIR_ENV} to a directory laid out like shared/corpora, or set neither to download "
            f"{source.url}. {corpus.missing_hint}".rstrip()
        )
    return path


def _subtract(sentences: Iterator[Sentence], held_out_splits) -> list[Sentence]:
    """The sentences minus one occurrence (matched by token sequence) per held-out sentence.

    A multiset difference: short sentences such as "1 ." occur many times in a corpus, and a held-out
    occurrence removes only one of them.
    """
    held_out = Counter(tuple(record["tokens"]) for records in held_out_splits for record in records)
    kept = []
    for sentence in sentences:
        key = tuple(sentence[0])
        if held_out[key]:
            held_out[key] -= 1
        else:
            kept.append(sentence)
    return kept


def read_corpus(
    name: str,
    split: str,
    corpora_dir: str | os.PathLike | None = None,
    *,
    download: Callable[[str], str] | None = None,
) -> list[dict]:
    """The records of one split of one corpus.

    Files are read from `corpora_dir` (or $VANER_CORPORA_DIR: resolved here, an entry point) laid out like
    shared/corpora; with neither, they are fetched from their public URLs with `download` (url -> local path;
    default: a `datasets` DownloadManager, which caches).

    Raises:
        ValueError: an unknown corpus or split, or a split the corpus does not have (the added corpora's test).
        CorpusUnavailableError: a file is missing (offline, or the download failed).
        CorpusFormatError: a malformed line (file and line named).
    """
    corpus = get_corpus(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if not corpus.paper:  # documents, a seeded dev split, the leakage filter: extra_corpora.py
        from .extra_corpora import read_added_split

        return read_added_split(corpus, split, resolve_corpora_dir(corpora_dir), download)[0]
    return _read_split(corpus, split, resolve_corpora_dir(corpora_dir), download)


def _read_split(corpus: Corpus, split: str, root: Path | None, download) -> list[dict]:
    """`read_corpus` from the resolved corpora directory `root` (None: the public URLs)."""
    name = corpus.name
    spec = corpus.splits[split]
    path = _locate(corpus, split, spec.source, root, download)
    repairs = {repair.line: repair for repair in corpus.repairs if repair.source == spec.source.local}
    if spec.source.format == "jsonl":
        sentences = read_jsonl(path, repairs)
    else:
        counted = corpus.tag_types
        sentences = (
            (tokens, tag_labels(tags, lambda tag_type: not tag_type or tag_type in counted), document)
            for tokens, tags, document in read_tsv(path, repairs, counted | corpus.ignored_tag_types)
        )
    if spec.minus:
        sentences = _subtract(sentences, (_read_split(corpus, other, root, download) for other in spec.minus))
    return sentence_records(sentences, f"{name}-{split}", corpus.entity_type, name)


