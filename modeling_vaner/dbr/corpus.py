"""What DBR needs from the corpora (read through `dataset_scripts.corpora`): TRAIN-split entity names and the S800
documents that belong to the s800 TRAIN split."""

import re
from functools import lru_cache
from pathlib import Path

S800_ABSTRACTS = "s800/original_S800-1.0/abstracts"
# Held-out sentences shorter than this (once spaces are removed) are too generic ("1 .") to place a document.
MIN_MATCH_CHARS = 32
_SPACE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


def s800_train_documents(corpora_dir: str | Path | None) -> frozenset[str]:
    """The S800 document names ("species001", ...) of the s800 TRAIN split used by `read_corpus`.

    That split is the whole corpus minus the VANER dev/test sentences, which carry no document ids; a document is
    held out when one of those sentences (spaces ignored, at least `MIN_MATCH_CHARS` characters) occurs in its
    abstract, and every other document is TRAIN.

    `corpora_dir` is already resolved (`dataset_scripts.corpora.resolve_corpora_dir`, at the edge).

    Raises:
        ValueError: no local corpora directory.
        FileNotFoundError: the S800 abstracts are missing.
    """
    from dataset_scripts.corpora import read_corpus

    root = None if corpora_dir is None else Path(corpora_dir)
    if root is None:
        raise ValueError("the s800_train source needs a local corpora directory (--corpora-dir / VANER_CORPORA_DIR)")
    abstracts = root / S800_ABSTRACTS
    files = sorted(abstracts.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no S800 abstracts (*.txt) in {abstracts}")
    held_out = {
        text[:MIN_MATCH_CHARS]: text
        for split in ("validation", "test")
        for record in read_corpus("s800", split, root)
        if len(text := _squash("".join(record["tokens"]))) >= MIN_MATCH_CHARS
    }
    train = set()
    for path in files:
        document = _squash(path.read_text(encoding="utf-8"))
        windows = (document[i:i + MIN_MATCH_CHARS] for i in range(len(document) - MIN_MATCH_CHARS + 1))
        if not any(w in held_out and document.startswith(held_out[w], i) for i, w in enumerate(windows)):
            train.add(path.stem)
    return frozenset(train)


@lru_cache(maxsize=16)
def _read_split(corpus: str, split: str, corpora_dir: str | None) -> tuple[dict, ...]:
    from dataset_scripts.corpora import read_corpus

    return tuple(read_corpus(corpus, split, corpora_dir))


def read_split(corpus: str, split: str, corpora_dir: str | Path | None) -> list[dict]:
    """`read_corpus(corpus, split, corpora_dir)`, memoized per process (the KB and the mixture read the same files)."""
    return list(_read_split(corpus, split, None if corpora_dir is None else str(corpora_dir)))
