"""The linking bundle: the dictionary sources whose licences allow redistribution, shipped compact inside the package
(`modeling_vaner/linking/bundle/`), so that a fresh install links offline with no data directory.
`python -m dataset_scripts.linking_bundle` writes it from the knowledge-base and linking data directories.

Files: `<source>.tsv.xz` per shipped source (`dictionaries.SHIPPED_SOURCES`), UTF-8 lines
`concept<TAB>priority<TAB>name<TAB>name...`, each line a run of consecutive entries of one concept (its CURIEs
joined by "|") and one priority, in the source's order (an earlier entry wins a tie, so the order is kept);
`MANIFEST.json`: per source its file, sha256, entries, description and licence, and the sha256 of the inputs;
`NOTICE.md`: the attributions the licences ask for.
"""

import hashlib
import json
import lzma
from collections.abc import Iterable, Iterator
from pathlib import Path

BUNDLE_DIR = Path(__file__).resolve().parent / "bundle"
BUNDLE_FORMAT = 1
MANIFEST = "MANIFEST.json"

Entry = tuple[str, tuple[str, ...], float]  # (name, concept, priority), as `dictionaries.Entry`


def write_source(path: Path, entries: Iterable[Entry]) -> int:
    """Write a source's entries as one `.tsv.xz` file (see the module docstring); returns the number of entries.

    Raises:
        ValueError: an identifier holding a tab, newline or "|" (the separators).
    """
    runs: list[tuple[str, str, list[str]]] = []
    count = 0
    for name, concept, priority in entries:
        if any(c in identifier for identifier in concept for c in "\t\n|"):
            raise ValueError(f"{path.name}: identifier of {name!r} holds a tab, newline or '|': {concept}")
        name = " ".join(name.split())  # a tab inside a name (DrugBank has some) is a space to `name_key` anyway
        key, value = "|".join(concept), f"{priority:g}"
        if runs and runs[-1][:2] == (key, value):
            runs[-1][2].append(name)
        else:
            runs.append((key, value, [name]))
        count += 1
    text = "".join("\t".join((key, value, *names)) + "\n" for key, value, names in runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    # xz, not gzip: the taxonomy's 675,526 binomials take 5.0 MB against gzip's 6.8 MB
    path.write_bytes(lzma.compress(text.encode("utf-8"), preset=9 | lzma.PRESET_EXTREME))
    return count


def read_source(path: Path) -> Iterator[Entry]:
    """The entries of a bundle file, in order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line with fewer than three fields or a priority that is not a number (file and line named).
    """
    if not path.is_file():
        raise FileNotFoundError(f"linking bundle file not found: {path}")
    with lzma.open(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            fields = line.rstrip("\n").split("\t")
            try:
                priority = float(fields[1]) if len(fields) >= 3 else None
            except ValueError:
                priority = None
            if priority is None:
                raise ValueError(f"{path}:{number}: expected concept<TAB>priority<TAB>name..., got {line[:80]!r}")
            concept = tuple(fields[0].split("|"))
            yield from ((name, concept, priority) for name in fields[2:])


def read_manifest(bundle_dir: Path) -> dict:
    """The bundle's `MANIFEST.json`.

    Raises:
        FileNotFoundError: the directory has no manifest.
        ValueError: a manifest of another format.
    """
    path = bundle_dir / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"linking bundle not found: {path} (`python -m dataset_scripts.linking_bundle`)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"{path}: bundle format {manifest.get('format')!r}, this package reads {BUNDLE_FORMAT}")
    return manifest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
