"""The corpora table, readers, builder, `vaner data stats` and `vaner data export`: their logic on the tiny committed
corpora (tests/resources/corpora), and the same tests and the facts of the shared corpora on those (`integration`)."""

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from dataset_scripts.corpora import (
    CORPORA,
    CORPORA_DIR_ENV,
    PAPER_CORPORA,
    SPLITS,
    CorpusUnavailableError,
    read_corpus,
    resolve_corpora_dir,
)
from dataset_scripts.stats import TOLERANCE, collect
from dataset_scripts.tagged_files import CorpusFormatError, read_tagged_file
from modeling_vaner.cli.data import register

REPO_ROOT = Path(__file__).resolve().parents[1]
RECORD_KEYS = {"id", "document_id", "tokens", "ner_tags", "entity_type", "corpus"}
# A test parametrized with these runs on the tiny corpora, and on the real ones as an integration test.
TINY_AND_REAL = ["tiny_corpora_dir", pytest.param("corpora_dir", marks=pytest.mark.integration)]


def real(*values):
    """A parameter set of a test's run on the real corpora."""
    return pytest.param("corpora_dir", *values, marks=pytest.mark.integration)


@pytest.fixture(scope="module")
def stats(corpora_dir):
    return {result["corpus"]: result for result in collect(corpora_dir, PAPER_CORPORA)}


def test_table_covers_the_vaner_corpora():
    """The paper's eight corpora, in its Table 1 order, with their types and VANER's F1; the added ones have no
    test split."""
    assert {name: (CORPORA[name].entity_type, CORPORA[name].paper_f1) for name in PAPER_CORPORA} == {
        "ncbi": ("Disease", 88.03), "bc5cdr-disease": ("Disease", 87.76), "bc2gm": ("Gene", 83.47),
        "jnlpba": ("Gene", 77.41), "bc4chemd": ("Chemical", 93.18), "bc5cdr-chem": ("Chemical", 94.34),
        "linnaeus": ("Species", 94.06), "s800": ("Species", 77.06),
    }
    assert list(CORPORA)[:2] == ["ncbi", "bc5cdr-disease"]
    for corpus in CORPORA.values():
        assert set(corpus.splits) == (set(SPLITS) if corpus.paper else {"train", "validation"})
        for split in corpus.splits.values():
            assert split.source.url.startswith("https://raw.githubusercontent.com/")
            assert split.source.repository.commit in split.source.url


def test_every_available_corpus_matches_table2_or_is_explained(stats):
    assert [name for name in PAPER_CORPORA if not stats[name]["available"]] == ["bc4chemd"]
    for name, result in stats.items():
        if not result["available"] or not CORPORA[name].paper:
            continue
        for row in result["splits"]:
            assert row["iob2_violations"] == 0, (name, row)
            if abs(row["difference"]) > TOLERANCE:
                assert row["flagged"] and CORPORA[name].notes, (name, row)
    # The evaluation sets of the paper, reproduced exactly.
    for name, split, sentences in [("ncbi", "test", 942), ("bc2gm", "test", 5065), ("s800", "test", 1630),
                                   ("s800", "validation", 831), ("jnlpba", "test", 3873), ("linnaeus", "test", 7181)]:
        assert next(row for row in stats[name]["splits"] if row["split"] == split)["sentences"] == sentences


@pytest.mark.parametrize("corpora, sentences, entities, abstracts", [
    ("tiny_corpora_dir", 6, 6, 3), real(923, 787, 200)
])
def test_records_have_the_schema(request, corpora, sentences, entities, abstracts):
    corpora_dir = request.getfixturevalue(corpora)
    records = read_corpus("ncbi", "validation", corpora_dir)
    assert len(records) == sentences
    assert set(records[0]) == RECORD_KEYS
    assert records[0]["id"] == "ncbi-validation-0" and records[0]["entity_type"] == "Disease"
    assert all(len(record["tokens"]) == len(record["ner_tags"]) for record in records)
    assert sum(record["ner_tags"].count(1) for record in records) == entities
    assert len({record["id"] for record in records}) == len(records)
    # -DOCSTART- lines start documents (the GENIA devel file of JNLPBA has 200 abstracts)
    genia = read_tagged_file(corpora_dir / "JNLPBA/devel.tsv", "Gene", tag_types=CORPORA["jnlpba"].tag_types)
    assert len({record["document_id"] for record in genia}) == abstracts and genia[0]["document_id"].endswith("doc0")


def test_jnlpba_types_are_counted_as_biobert_does(corpora_dir):
    """protein + DNA + RNA = Gene, cell types = O: the MTL test then has the 6241 entities of the VANER test."""
    jnlpba = CORPORA["jnlpba"]
    mtl_test = read_tagged_file(corpora_dir / "JNLPBA/test.tsv", "Gene", tag_types=jnlpba.tag_types)
    vaner_test = [json.loads(line) for line in open(corpora_dir / "vaner_dbr/JNLPBA/test_df_mix2.jsonl")]
    assert sum(record["ner_tags"].count(1) for record in mtl_test) == 6241
    assert sum(record["ner_tags"].count(1) for record in vaner_test) == 6241
    tag_repairs = [repair for repair in jnlpba.repairs if repair.field == "tag"]
    test = read_corpus("jnlpba", "test", corpora_dir)
    assert sum(record["ner_tags"].count(1) for record in test) == 6241 + len(tag_repairs)


def test_jnlpba_train_is_tokenized_as_its_test_split(corpora_dir):
    """BioBERT's train file splits hyphens as the test file does ("IL - 2"); the GENIA files keep "IL-2"."""
    train, test = (read_corpus("jnlpba", split, corpora_dir) for split in ("train", "test"))
    assert (len(train), sum(record["ner_tags"].count(1) for record in train)) == (14690, 32178)
    for records in (train, test):
        tokens = Counter(token for record in records for token in record["tokens"])
        assert tokens["IL-2"] == 0 and tokens["IL"] > 100


@pytest.mark.parametrize("corpora, unmatched, train", [
    ("tiny_corpora_dir", ["Isolates of Bacillus pu"], 7),
    real(["C ( 16 : 1 ) omega7c an", "Strain 0533 ( T ) exhib"], 5734),
])
def test_s800_train_is_the_corpus_minus_vaner_dev_and_test(request, corpora, unmatched, train):
    corpora_dir = request.getfixturevalue(corpora)

    def sentences(records):
        return Counter(tuple(record["tokens"]) for record in records)

    whole = sentences(read_tagged_file(corpora_dir / "s800/BaderLab_S800_BIO/train.tsv", "Species", tag_types={"LIVB"}))
    splits = {split: sentences(read_corpus("s800", split, corpora_dir)) for split in SPLITS}
    assert not splits["test"] - whole
    unmatched_dev = splits["validation"] - whole
    starts = sorted(" ".join(tokens)[:23] for tokens in unmatched_dev)
    assert starts == unmatched
    assert splits["train"] + (splits["validation"] - unmatched_dev) + splits["test"] == whole
    assert sum(splits["train"].values()) == train


@pytest.mark.parametrize("corpora", TINY_AND_REAL)
def test_bc4chemd_is_reported_unavailable(request, corpora):
    corpora_dir = request.getfixturevalue(corpora)
    (result,) = collect(corpora_dir, ["bc4chemd"])
    assert not result["available"] and "only the CHEMDNER annotations" in result["error"]
    with pytest.raises(CorpusUnavailableError, match="BC4CHEMD/train.tsv.*--corpora-dir.*VANER_CORPORA_DIR"):
        read_corpus("bc4chemd", "train", corpora_dir)


def test_bc4chemd_reads_its_public_tsv_format(tmp_path):
    (tmp_path / "BC4CHEMD").mkdir()
    samples = {  # MTL typed tags; BioBERT's untyped B/I
        "train": "Aspirin\tB-Chemical\nhelps\tO\n.\tO\n\nsodium\tB-Chemical\nchloride\tI-Chemical\n",
        "devel": "Caffeine\tB\nwakes\tO\n",
        "test": "No\tO\nchemical\tO\n",
    }
    for stem, text in samples.items():
        (tmp_path / "BC4CHEMD" / f"{stem}.tsv").write_text(text)
    train = read_corpus("bc4chemd", "train", tmp_path)
    assert [record["ner_tags"] for record in train] == [[1, 0, 0], [1, 2]]
    assert train[1]["tokens"] == ["sodium", "chloride"] and train[1]["entity_type"] == "Chemical"
    assert read_corpus("bc4chemd", "validation", tmp_path)[0]["ner_tags"] == [1, 0]
    assert stats_row_count(collect(tmp_path, ["bc4chemd"])) == 3


def stats_row_count(results):
    return sum(len(result["splits"]) for result in results if result["available"])


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("a\tO\nb\tO\textra\n", 2, "invalid tag 'extra'"),  # the tag is the last column
        ("a\tO\n\nb\n", 3, "2 or more tab-separated columns"),
        ("a\tO\nb\tX-Disease\n", 2, "invalid tag"),
        ("a\tO\nb\tB-\n", 2, "invalid tag"),
        ("a\tO\nb\tI-Disease\n", 2, "invalid IOB2"),
        ("a\tI-Disease\n", 1, "invalid IOB2"),
        ("a\tB-Disease\nb\tI-Chemical\n", 2, "invalid IOB2"),
        ("a\tB-Disease\n\nb\tI-Disease\n", 3, "invalid IOB2"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(CorpusFormatError, match=rf"{path}:{line}: .*{message}"):
        read_tagged_file(path, "Disease", strict=True)


def test_unexpected_type_in_a_corpus_file_is_an_error(tmp_path):
    (tmp_path / "NCBI-disease").mkdir()
    (tmp_path / "NCBI-disease/train.tsv").write_text("a\tB-Disease\nb\tB-Gene\n")
    with pytest.raises(CorpusFormatError, match=r"train.tsv:2: unexpected entity type"):
        read_corpus("ncbi", "train", tmp_path)


@pytest.mark.parametrize(
    "record, message",
    [
        ({"tokens": ["prompt: ", "a", "b"], "ner_tags": [0, 2]}, "I after O"),
        ({"tokens": ["prompt: ", "a"], "ner_tags": [0, 0]}, "2 ner_tags for 1 tokens"),
        ({"tokens": ["prompt: ", "a"], "ner_tags": [3]}, "is not 0"),
        ({"tokens": ["prompt: ", "a"]}, "not a VANER record"),
    ],
)
def test_malformed_jsonl_names_file_and_line(tmp_path, record, message):
    path = tmp_path / "vaner_dbr/ncbi/test_df_mix2.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"tokens": ["prompt: ", "ok"], "ner_tags": [0]}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(CorpusFormatError, match=rf"{path}:2: .*{message}"):
        read_corpus("ncbi", "test", tmp_path)


def test_missing_file_names_path_and_flag(tmp_path):
    expected = rf"{tmp_path}/NCBI-disease/train.tsv.*--corpora-dir.*{CORPORA_DIR_ENV}"
    with pytest.raises(CorpusUnavailableError, match=expected):
        read_corpus("ncbi", "train", tmp_path)
    with pytest.raises(FileNotFoundError, match="nothing.tsv"):
        read_tagged_file(tmp_path / "nothing.tsv", "Gene")


def test_unknown_names_are_value_errors(tiny_corpora_dir):
    with pytest.raises(ValueError, match="unknown corpus 'NCBI'"):
        read_corpus("NCBI", "train", tiny_corpora_dir)
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        read_corpus("ncbi", "dev", tiny_corpora_dir)
    with pytest.raises(ValueError, match="entity_type"):
        read_tagged_file(tiny_corpora_dir / "NCBI-disease/train.tsv", " ")


def test_plain_tagged_file(tmp_path):
    path = tmp_path / "craft_sample.tsv"
    path.write_text("-DOCSTART-\tO\n\nmouse\tB-Taxon\ncells\tO\n\nBrca1\tB-GGP\n-DOCSTART-\tO\n\nzebrafish\tB-Taxon\n")
    records = read_tagged_file(path, "Species", tag_types={"Taxon"})
    assert [record["ner_tags"] for record in records] == [[1, 0], [0], [1]]
    assert [record["document_id"] for record in records] == ["craft_sample-doc0"] * 2 + ["craft_sample-doc1"]
    assert {record["corpus"] for record in records} == {"craft_sample"}
    with pytest.raises(CorpusFormatError, match="no entity of type 'Any'; the file's types are Taxon, GGP"):
        read_tagged_file(path, "Any", corpus="x")
    by_type = read_tagged_file(path, type_map={"Taxon": "Species", "GGP": "Gene"})
    assert [(r["entity_type"], r["ner_tags"]) for r in by_type] == [
        ("Species", [1, 0]), ("Species", [0]), ("Species", [1]), ("Gene", [0, 0]), ("Gene", [1]), ("Gene", [0])
    ]


BOM_CRLF = (
    "\ufeff-DOCSTART-\tO\r\n\r\nAspirin\tB-Chemical\r\nreduced\tO\r\nfever\tO\r\nin\tO\r\n"
    "mice\tB-Species\r\n.\tO\r\n\r\n"
    "BRCA1\tB-Gene\r\nmutations\tO\r\ncause\tO\r\nbreast\tB-Disease\r\ncancer\tI-Disease\r\n.\tO\r\n\r\n\r\n\r\n"
)


def test_bom_crlf_and_several_types_read_like_a_clean_file(tmp_path):
    path = tmp_path / "mixed.tsv"
    path.write_bytes(BOM_CRLF.encode("utf-8"))
    clean = tmp_path / "clean.tsv"
    clean.write_text(BOM_CRLF.removeprefix("\ufeff").replace("\r\n", "\n"))
    disease = read_tagged_file(path, "Disease")
    assert [r["tokens"] for r in disease] == [["Aspirin", "reduced", "fever", "in", "mice", "."],
                                               ["BRCA1", "mutations", "cause", "breast", "cancer", "."]]
    assert [r["ner_tags"] for r in disease] == [[0] * 6, [0, 0, 0, 1, 2, 0]]  # 1 Disease entity, not 4
    every = read_tagged_file(path)
    assert [(r["entity_type"], r["ner_tags"]) for r in every] == [
        (r["entity_type"], r["ner_tags"]) for r in read_tagged_file(clean)
    ]
    assert [r["entity_type"] for r in every] == ["Chemical"] * 2 + ["Species"] * 2 + ["Gene"] * 2 + ["Disease"] * 2
    with pytest.raises(CorpusFormatError, match=r"mixed.tsv:3: unexpected entity type in tag 'B-Chemical'"):
        read_tagged_file(path, type_map={"Species": "Species", "Gene": "Gene", "Disease": "Disease"})


CONLL_COLUMNS = (
    "The\tDT\tO\nalpha-synuclein\tNN\tI-Gene\naggregates\tNNS\tO\nin\tIN\tO\nParkinson\tNNP\tB-Disease\n"
    "disease\tNN\tI-Disease\nwere\tVBD\tO\nreduced\tVBN\tO\nby\tIN\tO\nrapamycin\tNN\tChemical\n.\t.\tO\n"
)


def test_columns_token_first_tag_last_lenient_iob2_and_every_problem_named(tmp_path):
    path = tmp_path / "pos.tsv"
    path.write_text(CONLL_COLUMNS)
    with pytest.raises(CorpusFormatError, match=r"pos.tsv:10: invalid tag 'Chemical'"):
        read_tagged_file(path)
    path.write_text(CONLL_COLUMNS.replace("\tChemical\n", "\tB-Chemical\n"))
    warning = r"pos.tsv: 1 I- tag\(s\) not continuing an entity read as entity starts \(at 2"
    with pytest.warns(UserWarning, match=warning):
        records = read_tagged_file(path)
    assert [(r["entity_type"], r["ner_tags"]) for r in records] == [
        ("Gene", [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("Disease", [0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0]),
        ("Chemical", [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
    ]
    with pytest.raises(CorpusFormatError, match=r"pos.tsv:2: 'I-Gene' follows 'O' \(invalid IOB2\)"):
        read_tagged_file(path, strict=True)
    path.write_text("EGFR\tB-DISO\nbinds\nx\tB-Gene\n")
    with pytest.raises(CorpusFormatError) as error:
        read_tagged_file(path, type_map={"Gene": "Gene"})
    assert str(error.value) == (
        f"{path}:1: unexpected entity type in tag 'B-DISO'; expected one of ['Gene']; "
        f"{path}:2: expected 2 or more tab-separated columns (token ... tag), got 1"
    )


def test_resolve_corpora_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(CORPORA_DIR_ENV, raising=False)
    assert resolve_corpora_dir() is None
    monkeypatch.setenv(CORPORA_DIR_ENV, str(tmp_path))
    assert resolve_corpora_dir() == tmp_path
    assert resolve_corpora_dir("elsewhere").name == "elsewhere"


def _offline_download(corpora_dir, requested):
    """A download function serving each public URL from the local mirror, never the network."""
    sources = [split.source for corpus in CORPORA.values() for split in corpus.splits.values()]
    by_url = {source.url: corpora_dir / source.local for source in sources}

    def download(url):
        requested.append(url)
        return str(by_url[url])

    return download


def test_public_urls_go_through_the_download_function(monkeypatch, tiny_corpora_dir):
    monkeypatch.delenv(CORPORA_DIR_ENV, raising=False)
    requested = []
    records = read_corpus("s800", "train", download=_offline_download(tiny_corpora_dir, requested))
    assert records == read_corpus("s800", "train", tiny_corpora_dir)
    repositories = [url.split("/")[3:5] for url in requested]
    assert repositories == [["BaderLab", "Biomedical-Corpora"]] + [["Eulring", "VANER"]] * 2


@pytest.mark.parametrize("corpora, counts", [
    ("tiny_corpora_dir", {"train": 10, "validation": 6, "test": 5}),
    real({"train": 5424, "validation": 923, "test": 942}),
])
def test_builder_from_local_dir_and_from_urls(request, monkeypatch, tmp_path, corpora, counts):
    import datasets

    from dataset_scripts.vaner_corpora import VanerCorpora

    corpora_dir = request.getfixturevalue(corpora)
    builder = VanerCorpora(config_name="ncbi", corpora_dir=str(corpora_dir), cache_dir=str(tmp_path / "local"))
    builder.download_and_prepare()
    local = builder.as_dataset()
    assert {split: local[split].num_rows for split in SPLITS} == counts
    assert local["train"].features["ner_tags"].feature.names == ["O", "B", "I"]
    assert local["test"][0] == read_corpus("ncbi", "test", corpora_dir)[0]

    monkeypatch.delenv(CORPORA_DIR_ENV, raising=False)
    requested = []
    fake = _offline_download(corpora_dir, requested)
    monkeypatch.setattr(datasets.DownloadManager, "download", lambda self, url: fake(url))
    online = VanerCorpora(config_name="ncbi", cache_dir=str(tmp_path / "online"))
    online.download_and_prepare()
    assert online.as_dataset()["test"]["tokens"] == local["test"]["tokens"]
    assert len(requested) == 3 and all(url.startswith("https://raw.githubusercontent.com/") for url in requested)


@pytest.mark.parametrize("corpora, ncbi_test, s800_test", [("tiny_corpora_dir", 5, 3), real(942, 1630)])
def test_export_is_a_loadable_hub_folder(request, tmp_path, corpora, ncbi_test, s800_test):
    import datasets

    from dataset_scripts.export import export

    corpora_dir = request.getfixturevalue(corpora)
    out = tmp_path / "vaner-corpora"
    report = export(out, corpora_dir, ["ncbi", "s800", "bc4chemd"])
    assert report["exported"] == ["ncbi", "s800"] and list(report["unavailable"]) == ["bc4chemd"]
    card = (out / "README.md").read_text()
    assert "config_name: all" in card and "config_name: ncbi" in card and f"| ncbi | test | {ncbi_test} | 942 |" in card
    assert CORPORA["ncbi"].citation in card and "cc0-1.0" in card and "bc4chemd" in card
    cache = str(tmp_path / "hf-cache")  # the datasets cache keys local folders by name: one per run
    ncbi = datasets.load_dataset(str(out), "ncbi", cache_dir=cache)
    assert ncbi["test"].num_rows == ncbi_test
    assert ncbi["train"].features["ner_tags"].feature.names == ["O", "B", "I"]
    everything = datasets.load_dataset(str(out), "all", cache_dir=cache)
    assert everything["test"].num_rows == ncbi_test + s800_test


@pytest.mark.parametrize("corpora", TINY_AND_REAL)
def test_cli_stats_json(request, capsys, corpora):
    corpora_dir = request.getfixturevalue(corpora)
    parser = argparse.ArgumentParser(prog="vaner")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["data", "stats", "--json", "--corpora-dir", str(corpora_dir), "--corpus", "ncbi", "--corpus", "bc4chemd"]
    )
    assert args.func(args) == 0
    results = json.loads(capsys.readouterr().out)
    assert [result["corpus"] for result in results] == ["ncbi", "bc4chemd"]
    assert results[0]["splits"][2]["shared_with_train"] == 1 and not results[1]["available"]
    with pytest.raises(SystemExit):
        parser.parse_args(["data", "stats", "--corpus", "NCBI"])


def test_cli_module_keeps_heavy_imports_lazy():
    code = "import sys, modeling_vaner.cli.data; print(sorted({'datasets', 'pyarrow'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert result.stdout.strip() == "[]"
