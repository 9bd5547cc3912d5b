"""Small text helpers shared by the DBR modules: name normalization, word splitting, B/I/O spans, seeds, paths."""

import hashlib
import os
import re
import unicodedata
from pathlib import Path

_SPACES = re.compile(r"\s+")
# Words as the corpora split them (BioBERT-style): runs of letters/digits, every other symbol on its own.
_WORD = re.compile(r"\w+|[^\w\s]")


def normalize_name(name: str) -> str:
    """Unicode NFKC, whitespace collapsed and stripped. The surface form kept in the knowledge base."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip()


def name_key(name: str) -> str:
    """Case- and space-insensitive key of a name: used to deduplicate and to compare names across sources."""
    return _SPACES.sub("", normalize_name(name).casefold())


def split_words(name: str) -> list[str]:
    """Split a name into words the way the corpora are tokenized ("IL-2 receptor" -> ["IL", "-", "2", "receptor"])."""
    return _WORD.findall(name)


def entity_spans(ner_tags: list[int]) -> list[tuple[int, int]]:
    """(start, end) word spans of the entities in an O=0/B=1/I=2 tag sequence; a stray I starts an entity."""
    spans, start = [], None
    for index, tag in enumerate(list(ner_tags) + [0]):
        if start is not None and tag != 2:
            spans.append((start, index))
            start = None
        if tag == 1 or (tag == 2 and start is None):
            start = index
    return spans


def stable_seed(*parts) -> int:
    """A 64-bit seed from any parts, identical across processes and Python versions (unlike `hash`)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def fingerprint(*parts) -> str:
    """A short hexadecimal digest of any parts, used to name cache entries."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=10).hexdigest()


def default_cache_dir() -> Path:
    """`$VANER_CACHE/dbr` when set, else `~/.cache/vaner/dbr`."""
    root = os.environ.get("VANER_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "vaner") / "dbr"
