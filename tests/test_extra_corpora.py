"""The corpora added by issue 33 (dataset_scripts/extra_corpora.py, extra_formats.py): each reader on the tiny
synthetic copies in tests/resources/corpora, the kept-aside guard, the leakage filter, the GENIA labels carried onto
BioBERT's train sentences only, the seeded document split, the stats and export rules, the training manifest; and the
real files (`integration`, a corpora directory built by `python -m dataset_scripts.extra_corpora`)."""

import json
import warnings

import pytest

from dataset_scripts.corpora import CORPORA, PAPER_CORPORA, read_corpus, readable_corpora
from dataset_scripts.extra_corpora import (
    EXCLUSION_SOURCES,
    KeptAsideError,
    added_sources,
    check_not_kept_aside,
    document_split,
    mirror_files,
    read_added_split,
    sentence_key,
)
from dataset_scripts.stats import collect, format_table
from modeling_vaner.configuration_vaner import VANER_ENTITY_TYPES

ADDED = [name for name, corpus in CORPORA.items() if not corpus.paper]


def read(name, split, root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the counted left-out mentions are checked through the report
        return read_added_split(CORPORA[name], split, root)


def texts(records):
    return [" ".join(record["tokens"]) for record in records]


def test_added_rows_have_train_and_validation_pinned_sources_and_known_types():
    assert "CellLine" in VANER_ENTITY_TYPES and "CellType" not in VANER_ENTITY_TYPES
    assert len(PAPER_CORPORA) == 8 and set(ADDED) >= {"gnormplus", "bioid-cellline", "cll", "jnlpba-cellline"}
    for name in ADDED:
        corpus = CORPORA[name]
        assert set(corpus.splits) == {"train", "validation"} and corpus.paper_f1 is None
        assert corpus.entity_type in (*VANER_ENTITY_TYPES, "CellType")
        assert corpus.licence and corpus.citation and corpus.type_only in ("as-is", "converted", "dataset-only")
        assert not corpus.tag_types & corpus.ignored_tag_types
        for split in corpus.splits.values():
            for source in (split.source, *split.label_sources):
                assert len(source.repository.commit) == 40 and source.repository.commit in source.url


def test_no_kept_aside_file_is_ever_named_and_reading_one_raises(tiny_corpora_dir):
    named = [source.path for source in added_sources()] + [source.local for source in added_sources()]
    named += [source.path for _, source in mirror_files() if source not in EXCLUSION_SOURCES]
    for path in named:
        check_not_kept_aside(path)  # raises for a kept-aside file
    for path in ("data/pubtator/NLMgene_Train.PubTator", "data/pubtator/BioRED_TrainDev.PubTator",
                 "data/pubtator/tmVar3_Train.PubTator", "data/pubtator/GNormPlus_Test.PubTator",
                 "data/CRAFT-IOB/train.tsv", "data/BioNLP13CG-IOB/train.tsv", "data/BioNLP11ID-IOB/devel.tsv",
                 "data/BioNLP13PC-IOB/test.tsv", "data/pubtator/BC5CDR_Test.PubTator"):
        with pytest.raises(KeptAsideError):
            check_not_kept_aside(path)
    for source in EXCLUSION_SOURCES:  # read only to collect what to exclude
        check_not_kept_aside(source.path, "exclude")
    with pytest.raises(ValueError, match="no test split"):
        read_corpus("gnormplus", "test", tiny_corpora_dir)


def test_pubtator_reader_words_labels_counts_and_leakage(tiny_corpora_dir):
    train, report = read("gnormplus", "train", tiny_corpora_dir)
    dev, _ = read("gnormplus", "validation", tiny_corpora_dir)
    # 1002 shares its PMID with BC5CDR_Test, 1003 a sentence with the ncbi test split: both dropped, and counted
    assert report["dropped_documents"] == 2 and {r["document_id"] for r in train + dev} == {
        "PMID:1001", "PMID:1004", "PMID:1005"}
    first = train[1]
    assert first["tokens"][:4] == ["The", "BRCA1", "protein", "binds"] and first["ner_tags"][:5] == [0, 1, 0, 0, 1]
    # "RAD5" ends inside "RAD51": the whole word; FamilyName is O; a mention whose text is not at its offsets: left out
    assert report["widened"] == 1 and report["text_mismatch"] == 1
    assert "kinase family" in " ".join(first["tokens"]) and first["ner_tags"].count(1) == 2


def test_bioid_documents_are_figures(tiny_corpora_dir):
    train, _ = read("bioid-cellline", "train", tiny_corpora_dir)
    dev, _ = read("bioid-cellline", "validation", tiny_corpora_dir)
    figures = {r["document_id"] for r in train} | {r["document_id"] for r in dev}
    assert not {r["document_id"] for r in train} & {r["document_id"] for r in dev}
    assert figures == {"BioID-figure:1234567", "BioID-figure:7654321", "BioID-figure:5555555",
                       "BioID-figure:4444444"}
    assert all(r["entity_type"] == "CellLine" for r in train + dev)


@pytest.mark.parametrize("name, train_entities, dev_entities", [
    ("bionlp13pc-gene", 2, 1), ("bionlp13pc-chem", 1, 1), ("bionlp13ge", 2, 2), ("bionlp11epi", 2, 2),
    ("ex-ptm", 2, 2),
])
def test_mtl_added_corpora_map_their_types(tiny_corpora_dir, name, train_entities, dev_entities):
    train, _ = read(name, "train", tiny_corpora_dir)
    dev, _ = read(name, "validation", tiny_corpora_dir)
    assert sum(r["ner_tags"].count(1) for r in train) == train_entities
    assert sum(r["ner_tags"].count(1) for r in dev) == dev_entities


def test_archive_readers(tiny_corpora_dir):
    cll, report = read("cll", "train", tiny_corpora_dir)
    cll_dev, _ = read("cll", "validation", tiny_corpora_dir)
    assert report["discontinuous"] == 1 and "NIH 3T3 cells and MCF - 7 cells grew ." in texts(cll + cll_dev)
    assert {r["document_id"] for r in cll + cll_dev} >= {"PMID:2001", "PMC:3001"}
    osiris = read("osiris", "train", tiny_corpora_dir)[0] + read("osiris", "validation", tiny_corpora_dir)[0]
    mthfr = next(r for r in osiris if r["tokens"][1] == "MTHFR")
    assert mthfr["ner_tags"][:3] == [0, 1, 0] and "3001" not in " ".join(mthfr["tokens"])  # PMID line: no text
    genes, report = read("variome-gene", "train", tiny_corpora_dir)
    diseases, disease_report = read("variome-disease", "train", tiny_corpora_dir)
    assert report["documents_left_out"] == 1  # the paragraph whose offsets are shifted
    assert not any("IGNORE" in text or "PMS2" in text for text in texts(genes))
    assert disease_report["overlapping"] == 1  # "cancer" inside "colorectal cancer": one entity
    msh2 = next(r for r in diseases if r["tokens"][0] == "MSH2")
    assert msh2["ner_tags"] == [0, 0, 0, 1, 2, 0]


def test_genia_cell_labels_come_from_biobert_train_sentences_only(tiny_corpora_dir):
    records, report = read("jnlpba-celltype", "train", tiny_corpora_dir)
    devel = {sentence_key(r["tokens"]) for r in read_corpus("jnlpba", "validation", tiny_corpora_dir)}
    biobert_train = {sentence_key(r["tokens"]) for r in read_corpus("jnlpba", "train", tiny_corpora_dir)}
    assert {sentence_key(r["tokens"]) for r in records} <= biobert_train and not {
        sentence_key(r["tokens"]) for r in records} & devel
    first = records[0]  # BaderLab's "IL-2" matched BioBERT's "IL - 2"; the tokens are BioBERT's
    assert first["tokens"][:3] == ["IL", "-", "2"] and first["ner_tags"][-3:-1] == [1, 2]
    cell_lines, _ = read("jnlpba-cellline", "train", tiny_corpora_dir)
    assert [r["ner_tags"].count(1) for r in cell_lines] == [0, 0, 1, 0]


def test_seeded_document_split_is_deterministic_and_recorded():
    ids = [f"PMID:{n}" for n in range(100)]
    dev = document_split(ids, 33, 0.15)
    assert len(dev) == 15 and dev == document_split(list(reversed(ids)) + ids[:5], 33, 0.15)
    assert dev != document_split(ids, 34, 0.15)
    for name in ADDED:
        corpus = CORPORA[name]
        assert (corpus.dev_split is None) == (corpus.splits["train"] != corpus.splits["validation"])


def test_stats_table_and_readable_corpora(tiny_corpora_dir):
    results = collect(tiny_corpora_dir, ["ncbi", "gnormplus", "osiris"])
    table = format_table(results)
    assert "| gnormplus | Gene | mit | as-is | train | 2 | 5 | 5 | 2 | 0 |" in table
    assert "osiris" in table.split("Added corpora")[1]
    readable, missing = readable_corpora(["ncbi", "gnormplus"], "test", tiny_corpora_dir)
    assert readable == ["ncbi"] and "no test split" in missing["gnormplus"]


def test_export_leaves_out_corpora_without_a_stated_licence(tmp_path, tiny_corpora_dir):
    from dataset_scripts.export import export

    report = export(tmp_path / "out", tiny_corpora_dir, ["ncbi", "gnormplus", "osiris"])
    assert report["exported"] == ["ncbi", "gnormplus"] and "not redistributed" in report["unavailable"]["osiris"]
    assert not (tmp_path / "out/gnormplus/test-00000-of-00001.parquet").exists()
    card = (tmp_path / "out/README.md").read_text()
    assert "gnormplus/validation-00000-of-00001.parquet" in card and "none stated" in card


def test_training_manifest_names_corpus_split_document_and_hash(tmp_path, tiny_corpora_dir):
    from modeling_vaner.training.manifest import MANIFEST_FILE, write_training_manifest

    records = read("gnormplus", "train", tiny_corpora_dir)[0] + read_corpus("ncbi", "train", tiny_corpora_dir)[:2]
    path = write_training_manifest(records, tmp_path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert path.name == MANIFEST_FILE and len(rows) == len(records)
    assert rows[0]["corpus"] == "gnormplus" and rows[0]["split"] == "train" and rows[0]["document_id"] == "PMID:1001"
    assert rows[-1]["corpus"] == "ncbi" and rows[-1]["split"] == "train" and len(rows[-1]["sentence_sha1"]) == 40


@pytest.mark.integration
@pytest.mark.parametrize("name", ADDED)
def test_real_added_corpora_read_without_test_and_without_leakage(corpora_dir, name):
    """On a corpora directory holding the added files (VANER_CORPORA_DIR=/work/corpora); skipped elsewhere."""
    corpus = CORPORA[name]
    needed = (corpus.splits["train"].source, *corpus.splits["train"].label_sources, *EXCLUSION_SOURCES)
    if not all((corpora_dir / source.local).is_file() for source in needed):
        pytest.skip(f"{name}: its files are not in {corpora_dir} (python -m dataset_scripts.extra_corpora)")
    train, report = read(name, "train", corpora_dir)
    dev, _ = read(name, "validation", corpora_dir)
    assert train and dev and report["mentions"] > 0
    documents = {r["document_id"] for r in train if r["document_id"]}
    assert not documents & {r["document_id"] for r in dev if r["document_id"]}


def test_held_out_corpora_are_scored_type_only_under_the_guideline_apart_from_mean_f1(tiny_corpora_dir):
    """An added corpus held out of training: its train and validation sentences are a dev set of their own, with
    the type-only instruction and the guideline's gold ("IL-2 gene" -> "IL-2"); naming it in `corpora` too is an
    error."""
    from dataset_scripts.guideline import guideline_records
    from modeling_vaner.training.args import DataArguments
    from modeling_vaner.training.data import HELD_OUT_PREFIX, dev_records

    data = DataArguments(corpora=["ncbi"], held_out_corpora=["bionlp13ge"], corpora_dir=str(tiny_corpora_dir),
                         dbr_variant="none")
    dev = dev_records(data, seed=0)
    held_out = dev[HELD_OUT_PREFIX + "bionlp13ge"]
    whole = [r for split in ("train", "validation") for r in read_corpus("bionlp13ge", split, tiny_corpora_dir)]
    assert list(dev) == ["ncbi", HELD_OUT_PREFIX + "bionlp13ge"] and len(held_out) == len(whole)
    assert all(record["instruction_dataset"] is None for record in held_out)
    assert [r["ner_tags"] for r in held_out] == [r["ner_tags"] for r in guideline_records(whole, "bionlp13ge")[0]]
    with pytest.raises(ValueError, match="held_out_corpora are also in `corpora`: bionlp13ge"):
        DataArguments(corpora=["ncbi", "bionlp13ge"], held_out_corpora=["bionlp13ge"])
