"""Small text helpers shared by the DBR modules: name normalization, seeds, paths. Words and B/I/O spans come from
`processing_vaner`, the one implementation that the pipeline uses too."""

import hashlib
import re
import unicodedata
from pathlib import Path

_SPACES = re.compile(r"\s+")


def normalize_name(name: str) -> str:
    """Unicode NFKC, whitespace collapsed and stripped. The surface form kept in the knowledge base."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip()


def name_key(name: str) -> str:
    """Case- and space-insensitive key of a name: used to deduplicate and to compare names across sources."""
    return _SPACES.sub("", normalize_name(name).casefold())


def stable_seed(*parts) -> int:
    """A 64-bit seed from any parts, identical across processes and Python versions (unlike `hash`)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def fingerprint(*parts) -> str:
    """A short hexadecimal digest of any parts, used to name cache entries."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=10).hexdigest()


def default_cache_dir() -> Path:
    """The DBR part of the package's cache (`backbone.cache_dir()`): `$VANER_CACHE/dbr`, else ~/.cache/vaner/dbr."""
    from ..backbone import cache_dir

    return cache_dir() / "dbr"
