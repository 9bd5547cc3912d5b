"""The DBR knowledge base: deduplicated (name, type) pairs, each row carrying the sources it came from.

Sources (see `KB_SOURCES`):

====================  =========  ========  =====================================================================
source                type       default   content
====================  =========  ========  =====================================================================
medic                 Disease    on        CTD MEDIC vocabulary (2012, BioSyn copy): names and synonyms
ctd_diseases          Disease    on        CTD disease vocabulary (2017): names and synonyms
drugbank              Chemical   on        DrugBank open vocabulary: common names and synonyms
chemdner_train        Chemical   on        CHEMDNER (BC4CHEMD) training-set gold mentions
chemdner_dev          Chemical   off       CHEMDNER development-set gold mentions: the BC4CHEMD dev split (leak)
ncbi_gene             Gene       on        NCBI Gene, human: symbols, synonyms, full names, descriptions
s800_train            Species    on        S800 gold mentions of the documents of the s800 TRAIN split only
corpus_train          per corpus on        entity names of the TRAIN split of every corpus (never dev/test)
vaner_umls_kg         UMLS types off       names the VANER authors retrieved from UMLS for DEV sentences (leak)
user:<file stem>      any        opt-in    a user TSV of `name<TAB>type` lines (e.g. a licensed UMLS export)
====================  =========  ========  =====================================================================

`chemdner_dev` and `vaner_umls_kg` are off by default: the first *is* a dev split's gold annotation, and the second
was retrieved for the dev sentences of BC2GM, ncbi and s800 (its names are those most similar to phrases of the dev
sentences, gold entities included), so a model trained with either would have seen dev-specific names before being
evaluated on dev. They can be switched on (`sources=...`, `--sources`) for experiments that are not evaluated on those
dev splits, and `vaner_umls_kg` is what the external check (`check.py`) uses as a reference.

Names are NFKC-normalized with whitespace collapsed; rows are deduplicated on (case- and space-insensitive name,
type), the first surface form in source order is kept and `sources` lists every source that contributed it. Types are
canonicalized: a raw type that contains one of Disease, Chemical, Gene, Species (case-insensitively, e.g.
"Gene/Protein", "Disease or Syndrome") becomes that type; any other type ("Anatomy", ...) is kept as it is and only
ever serves as a negative.
"""

import csv
import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dataset_scripts.corpora import CORPUS_TYPES

from ..configuration_vaner import VANER_ENTITY_TYPES
from ..processing_vaner import entity_spans
from .text import default_cache_dir, fingerprint, name_key, normalize_name

logger = logging.getLogger(__name__)

KB_FORMAT_VERSION = 1
MIN_NAME_CHARS = 2
MAX_NAME_CHARS = 128
# The VANER release files holding `umls_kg` (dev splits only), relative to the corpora directory.
UMLS_KG_FILES = (
    "vaner_dbr/BC2GM/dev_df_mix2.jsonl", "vaner_dbr/ncbi/dev_df_mix2.jsonl", "vaner_dbr/s800/dev_df_mix2.jsonl"
)


def canonical_type(raw_type: str) -> str:
    """The VANER entity type a raw type contains (case-insensitively), else the raw type, whitespace-normalized."""
    raw = normalize_name(raw_type)
    for entity_type in VANER_ENTITY_TYPES:
        if entity_type.casefold() in raw.casefold():
            return entity_type
    return raw


def type_matches(kb_type: str, target_type: str) -> bool:
    """The paper's positive rule: case-insensitive containment either way ("Gene" matches "Gene/Protein")."""
    a, b = kb_type.casefold(), target_type.casefold()
    return a in b or b in a


@dataclass(frozen=True)
class KBPaths:
    """Where the sources live: `kb_dir` holds the dictionaries, `corpora_dir` the corpora and `vaner_dbr/`."""

    kb_dir: Path
    corpora_dir: Path | None
    skipped: dict[str, str] = field(default_factory=dict)  # parts of sources that were not available, and why

    def file(self, relative: str, root: Path | None = None) -> Path:
        """A source file under the knowledge-base directory (or `root`).

        Raises:
            FileNotFoundError: the file does not exist.
        """
        root = self.kb_dir if root is None else root
        path = root / relative
        if not path.is_file():
            raise FileNotFoundError(f"knowledge-base source file not found: {path} (set --kb-dir / VANER_KB_DIR)")
        return path


def resolve_kb_paths(kb_dir: str | Path | None = None, corpora_dir: str | Path | None = None) -> KBPaths:
    """`kb_dir` argument, else env `VANER_KB_DIR`, else `<corpora_dir>/kb`; `corpora_dir` is already resolved
    (`dataset_scripts.corpora.resolve_corpora_dir`, at the edge: `vaner`'s main or `mixture.load_builder`).

    Raises:
        ValueError: no directory given or configured.
        FileNotFoundError: the directory does not exist.
    """
    corpora = Path(corpora_dir).expanduser().resolve() if corpora_dir is not None else None
    kb = kb_dir or os.environ.get("VANER_KB_DIR")
    if kb is None:
        if corpora is None:
            raise ValueError("no knowledge-base directory: pass --kb-dir, set VANER_KB_DIR or set a corpora directory")
        kb = corpora / "kb"
    kb = Path(kb).expanduser().resolve()
    if not kb.is_dir():
        raise FileNotFoundError(f"knowledge-base directory not found: {kb}")
    return KBPaths(kb_dir=kb, corpora_dir=corpora)


# ----------------------------------------------------------------------------------------------------- source readers
# Each reader yields (name, raw type) pairs; errors name the file and line.


def data_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-empty lines of a dictionary file that are not comments ("#"), without their newline.

    Args:
        path: a UTF-8 text file.

    Returns:
        `Iterator[tuple[int, str]]`: `(line number from 1, line)` per data line.
    """
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                yield number, line


def line_fields(path: Path, line_number: int, line: str, minimum: int, sep: str = "\t") -> list[str]:
    """The `sep`-separated fields of one line of `path`.

    Args:
        path, line_number: where the line is, for the error.
        line: the line (`data_lines`).
        minimum: the least number of fields a line must have.
        sep: the field separator.

    Returns:
        `list[str]`: the fields.

    Raises:
        ValueError: fewer than `minimum` fields (`path:line` named).
    """
    fields = line.split(sep)
    if len(fields) < minimum:
        raise ValueError(
            f"{path}:{line_number}: expected at least {minimum} {sep!r}-separated fields, got {len(fields)}"
        )
    return fields


def _read_medic(paths: KBPaths) -> Iterator[tuple[str, str]]:
    path = paths.file("medic_biosyn/medic_06Jul2012.txt")
    for number, line in data_lines(path):
        _, names = line_fields(path, number, line, 2, sep="||")[:2]
        yield from ((name, "Disease") for name in names.split("|"))


def _read_ctd_diseases(paths: KBPaths) -> Iterator[tuple[str, str]]:
    path = paths.file("ctd_diseases_2017/CTD_diseases.tsv")
    for number, line in data_lines(path):
        fields = line_fields(path, number, line, 8)
        yield fields[0], "Disease"
        yield from ((name, "Disease") for name in fields[7].split("|") if name)


def _read_drugbank(paths: KBPaths) -> Iterator[tuple[str, str]]:
    path = paths.file("drugbank_open_vocabulary/drugbank_vocabulary.csv")
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"Common name", "Synonyms"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}:1: missing columns {sorted(missing)}")
        for row in reader:
            yield row["Common name"], "Chemical"
            yield from ((name, "Chemical") for name in (row["Synonyms"] or "").split(" | ") if name)


def _chemdner_reader(file_name: str) -> Callable[[KBPaths], Iterator[tuple[str, str]]]:
    def read(paths: KBPaths) -> Iterator[tuple[str, str]]:
        path = paths.file(f"chemdner_train_dev_annotations/{file_name}")
        for number, line in data_lines(path):
            yield line_fields(path, number, line, 5)[4], "Chemical"

    return read


def _read_ncbi_gene(paths: KBPaths) -> Iterator[tuple[str, str]]:
    path = paths.file("ncbi_gene_human/Homo_sapiens.gene_info")
    for number, line in data_lines(path):
        fields = line_fields(path, number, line, 12)
        # Symbol, Synonyms (|-separated), description, Full_name_from_nomenclature_authority; "-" means none.
        for value in (fields[2], *fields[4].split("|"), fields[8], fields[11]):
            if value != "-":
                yield value, "Gene"


def _read_s800_train(paths: KBPaths) -> Iterator[tuple[str, str]]:
    from .corpus import s800_train_documents

    path = paths.file("species_s800_gold_mentions/S800.tsv")
    train_documents = s800_train_documents(paths.corpora_dir)
    for number, line in data_lines(path):
        fields = line_fields(path, number, line, 5)
        if fields[1].split(":")[0] in train_documents:
            yield fields[4], "Species"


def _read_corpus_train(paths: KBPaths) -> Iterator[tuple[str, str]]:
    from .corpus import read_split

    for corpus, entity_type in CORPUS_TYPES.items():
        try:
            sentences = read_split(corpus, "train", paths.corpora_dir)
        except FileNotFoundError as error:  # e.g. bc4chemd, whose text is not public: recorded in the statistics
            paths.skipped[f"corpus_train:{corpus}"] = str(error)
            logger.warning("knowledge base: no %s train split: %s", corpus, error)
            continue
        for sentence in sentences:
            for start, end in entity_spans(sentence["ner_tags"]):
                yield " ".join(sentence["tokens"][start:end]), entity_type


def _read_vaner_umls_kg(paths: KBPaths) -> Iterator[tuple[str, str]]:
    if paths.corpora_dir is None:
        raise ValueError("the vaner_umls_kg source needs a local corpora directory (--corpora-dir / VANER_CORPORA_DIR)")
    for relative in UMLS_KG_FILES:
        path = paths.file(relative, root=paths.corpora_dir)
        for number, record in read_jsonl(path):
            for name, raw_type in _umls_kg_items(path, number, record):
                yield name, raw_type


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, record) of a JSON-lines file; a malformed line raises a ValueError naming file and line.

    Raises:
        ValueError: a malformed line (file and line named).
    """
    for number, line in data_lines(path):
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: invalid JSON ({error.msg})") from None


def _umls_kg_items(path: Path, number: int, record: dict) -> Iterator[tuple[str, str]]:
    for level in record.get("umls_kg") or ():
        for item in level:
            if not (isinstance(item, list) and len(item) == 2):
                raise ValueError(f"{path}:{number}: umls_kg items must be [name, type] pairs, got {item!r}")
            yield item[0], item[1]


def read_user_tsv(path: str | Path) -> Iterator[tuple[str, str]]:
    """`name<TAB>type` lines (blank lines and `#` comments skipped) of a user-supplied knowledge-base file.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line with an empty name or type (file and line named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"user knowledge-base file not found: {path}")
    for number, line in data_lines(path):
        fields = line_fields(path, number, line, 2)
        if not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"{path}:{number}: empty name or type")
        yield fields[0], fields[1]


@dataclass(frozen=True)
class KBSource:
    name: str
    reader: Callable[[KBPaths], Iterable[tuple[str, str]]]
    default: bool
    description: str
    licence: str


KB_SOURCES = {
    source.name: source
    for source in (
        KBSource("medic", _read_medic, True, "CTD MEDIC disease vocabulary, 2012-07-06 (BioSyn copy)",
                 "CTD terms of use (ctdbase.org/about/legal.jsp); BioSyn repository MIT"),
        KBSource("ctd_diseases", _read_ctd_diseases, True, "CTD disease vocabulary (MEDIC), 2017-06-06",
                 "CTD terms of use (ctdbase.org/about/legal.jsp)"),
        KBSource("drugbank", _read_drugbank, True, "DrugBank open vocabulary: common names and synonyms",
                 "DrugBank open data (CC0 per DrugBank); no licence in the source repository"),
        KBSource("chemdner_train", _chemdner_reader("training.annotations.txt"), True,
                 "CHEMDNER (BC4CHEMD) training-set gold mentions",
                 "CHEMDNER: cite Krallinger et al. 2015; no licence stated"),
        KBSource("chemdner_dev", _chemdner_reader("development.annotations.txt"), False,
                 "CHEMDNER (BC4CHEMD) development-set gold mentions: a dev split, off by default",
                 "CHEMDNER: cite Krallinger et al. 2015; no licence stated"),
        KBSource("ncbi_gene", _read_ncbi_gene, True, "NCBI Gene human gene_info (2019): symbols, synonyms, names",
                 "NCBI data, public domain (NLM policy); no licence in the source repository"),
        KBSource("s800_train", _read_s800_train, True, "S800 gold species mentions of TRAIN documents only",
                 "S800: licence 'other' (not stated)"),
        KBSource("corpus_train", _read_corpus_train, True, "entity names of the TRAIN split of every available corpus",
                 "per corpus (see the corpora's licences)"),
        KBSource("vaner_umls_kg", _read_vaner_umls_kg, False,
                 "UMLS names the VANER authors retrieved for DEV sentences (BC2GM, ncbi, s800): off by default",
                 "UMLS-derived: UMLS Metathesaurus licence terms apply"),
    )
}
DEFAULT_SOURCES = tuple(name for name, source in KB_SOURCES.items() if source.default)


class KnowledgeBase:
    """Rows of (name, type, sources); `names`/`types`/`sources` are parallel lists, `stats` a JSON-able summary."""

    def __init__(self, names: list[str], types: list[str], sources: list[list[str]], stats: dict, key: str):
        self.names, self.types, self.sources, self.stats, self.key = names, types, sources, stats, key

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"KnowledgeBase({len(self)} names, by type {self.stats['by_type']}, key={self.key})"

    def to_parquet(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"name": self.names, "type": self.types, "sources": self.sources})
        metadata = {b"vaner_kb_stats": json.dumps(self.stats).encode(), b"vaner_kb_key": self.key.encode()}
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.replace_schema_metadata(metadata), path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)

    @classmethod
    def from_parquet(cls, path: Path) -> "KnowledgeBase":
        """A knowledge base saved with `to_parquet`.

        Raises:
            ValueError: the file is not a VANER knowledge-base parquet.
        """
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        metadata = table.schema.metadata or {}
        if b"vaner_kb_stats" not in metadata:
            raise ValueError(f"{path}: not a VANER knowledge-base parquet (no vaner_kb_stats metadata)")
        columns = table.to_pydict()
        return cls(columns["name"], columns["type"], columns["sources"], json.loads(metadata[b"vaner_kb_stats"]),
                   metadata[b"vaner_kb_key"].decode())


def _statistics(types: list[str], sources: list[list[str]], skipped: dict[str, str]) -> dict:
    by_type = Counter(types)
    by_source: dict[str, Counter] = {}
    only: dict[str, Counter] = {}
    for entity_type, row_sources in zip(types, sources):
        for source in row_sources:
            by_source.setdefault(source, Counter())[entity_type] += 1
        if len(row_sources) == 1:
            only.setdefault(row_sources[0], Counter())[entity_type] += 1
    group = lambda counter: {**{t: counter.get(t, 0) for t in VANER_ENTITY_TYPES},  # noqa: E731
                             "other": sum(n for t, n in counter.items() if t not in VANER_ENTITY_TYPES)}
    return {
        "total": len(types),
        "by_type": group(by_type),
        "by_source": {source: group(counter) for source, counter in by_source.items()},
        "only_from_source": {source: group(counter) for source, counter in only.items()},
        "other_types": dict(sorted((t, n) for t, n in by_type.items() if t not in VANER_ENTITY_TYPES)),
        "skipped": skipped,
    }


def _tree_signature(roots: Sequence[Path]) -> list:
    """(path, size, mtime) of every file under the roots: cheap, and changes whenever a source file changes."""
    entries = []
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        entries.extend((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return entries


def _check_sources(sources: Sequence[str]) -> tuple[str, ...]:
    unknown = [s for s in sources if s not in KB_SOURCES]
    if unknown:
        raise ValueError(f"unknown knowledge-base source(s) {unknown}; known: {sorted(KB_SOURCES)}")
    return tuple(dict.fromkeys(sources))


def build_kb(paths: KBPaths, sources: Sequence[str] = DEFAULT_SOURCES, user_tsvs: Sequence[str | Path] = (),
             key: str = "", progress: bool = True) -> KnowledgeBase:
    """Read every requested source, normalize, filter (2-128 characters, at least one letter) and deduplicate."""
    from tqdm.auto import tqdm

    sources = _check_sources(sources)
    readers = [(name, KB_SOURCES[name].reader) for name in sources]
    readers += [(f"user:{Path(p).stem}", lambda _, p=p: read_user_tsv(p)) for p in user_tsvs]
    rows: dict[tuple[str, str], int] = {}
    names, types, row_sources = [], [], []
    for source, reader in tqdm(readers, desc="knowledge base", unit="source", disable=not progress):
        for raw_name, raw_type in reader(paths):
            name = normalize_name(raw_name)
            if not (MIN_NAME_CHARS <= len(name) <= MAX_NAME_CHARS) or not any(c.isalpha() for c in name):
                continue
            entity_type = canonical_type(raw_type)
            row = rows.setdefault((name_key(name), entity_type), len(names))
            if row == len(names):
                names.append(name)
                types.append(entity_type)
                row_sources.append([source])
            elif row_sources[row][-1] != source:
                row_sources[row].append(source)
    return KnowledgeBase(names, types, row_sources, _statistics(types, row_sources, dict(paths.skipped)), key)


def load_kb(kb_dir: str | Path | None = None, corpora_dir: str | Path | None = None,
            sources: Sequence[str] = DEFAULT_SOURCES, user_tsvs: Sequence[str | Path] = (),
            cache_dir: str | Path | None = None, rebuild: bool = False, progress: bool = True) -> KnowledgeBase:
    """The knowledge base for these sources, from `<cache_dir>/kb/<key>.parquet` when there, else built and cached.
    `corpora_dir` is already resolved (see `resolve_kb_paths`); `mixture.load_builder` resolves it from the
    environment.

    The key covers the sources, the user files and the size/mtime of every file under the kb and corpora
    directories, so that editing a source rebuilds the knowledge base.
    """
    paths = resolve_kb_paths(kb_dir, corpora_dir)
    sources = _check_sources(sources)
    user_tsvs = [Path(p).expanduser().resolve() for p in user_tsvs]
    roots = [paths.kb_dir, *user_tsvs] + ([paths.corpora_dir] if paths.corpora_dir else [])
    key = fingerprint(KB_FORMAT_VERSION, sources, _tree_signature(roots))
    path = Path(cache_dir or default_cache_dir()) / "kb" / f"{key}.parquet"
    if path.is_file() and not rebuild:
        return KnowledgeBase.from_parquet(path)
    kb = build_kb(paths, sources, user_tsvs, key=key, progress=progress)
    kb.to_parquet(path)
    logger.info("knowledge base: %d names written to %s", len(kb), path)
    return kb
