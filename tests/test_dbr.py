"""Dense Bioentities Recognition: knowledge base (no dev/test leak, on the real corpora), mining, retrieval,
assembly caps and labels, determinism, resumable shards, the training mixture and its Hub dataset folder.

The builder's tests run on the tiny committed corpora and knowledge-base files (tests/resources/corpora), and again
on the real ones as integration tests."""

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from dataset_scripts.corpora import CORPUS_TYPES
from modeling_vaner.dbr.assembly import DBRConfig, dense_sentence, select_entities
from modeling_vaner.dbr.kb import DEFAULT_SOURCES, KBPaths, build_kb, canonical_type, load_kb, type_matches
from modeling_vaner.dbr.mining import PhraseMiner
from modeling_vaner.dbr.mixture import RECORD_KEYS, build_training_mixture, export_dataset, load_builder
from modeling_vaner.dbr.text import name_key
from modeling_vaner.processing_vaner import entity_spans
from modeling_vaner.text_vaner import word_strings

# A small knowledge base (TRAIN entity names of the corpora) keeps the index fast to build in tests.
TEST_SOURCES = ("corpus_train",)
SEED = 7
TINY_LIMIT = 5  # sentences per corpus the tests take from the tiny corpora (ncbi has 6 dev, s800 7 train sentences)


@dataclass(frozen=True)
class Corpora:
    """The corpora directory a builder test runs on, tiny or real."""

    path: Path
    tiny: bool

    def limit(self, real: int) -> int:
        """A test's sentence limit: `real` on the real corpora, at most `TINY_LIMIT` on the tiny ones."""
        return min(real, TINY_LIMIT) if self.tiny else real


@pytest.fixture(scope="module", params=["tiny_corpora_dir", pytest.param("corpora_dir", marks=pytest.mark.integration)])
def corpora(request) -> Corpora:
    return Corpora(request.getfixturevalue(request.param), tiny=request.param == "tiny_corpora_dir")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("dbr_cache")


@pytest.fixture(scope="module")
def builder(corpora, cache_dir):
    return load_builder(corpora_dir=corpora.path, kb_sources=TEST_SOURCES, seed=SEED, cache_dir=cache_dir,
                        progress=False)


@pytest.fixture(scope="module")
def ncbi_sentences(corpora):
    from modeling_vaner.dbr.mixture import corpus_records

    return corpus_records("ncbi", "train", corpora.path, limit=300)


def _entity_keys(corpus, split, corpora_dir):
    from modeling_vaner.dbr.corpus import read_split

    return {(name_key(" ".join(s["tokens"][a:b])), s["entity_type"])
            for s in read_split(corpus, split, corpora_dir) for a, b in entity_spans(s["ner_tags"])}


# ------------------------------------------------------------------------------------------------------ knowledge base


def test_type_rules():
    assert type_matches("Gene/Protein", "Gene") and type_matches("gene", "Gene/Protein")
    assert not type_matches("Chemical", "Gene")
    assert canonical_type("Disease or Syndrome") == "Disease" and canonical_type("Gene or Genome") == "Gene"
    assert canonical_type("Intellectual  Product") == "Intellectual Product"


def test_kb_corpus_source_holds_train_names_only(corpora_dir):
    """No row whose only source is corpus-derived has a name that occurs only in dev/test (real corpora)."""
    from modeling_vaner.dbr.kb import resolve_kb_paths

    kb = build_kb(resolve_kb_paths(corpora_dir=corpora_dir), sources=("corpus_train",), progress=False)
    train, held_out = set(), set()
    for corpus in CORPUS_TYPES:
        try:
            train |= _entity_keys(corpus, "train", corpora_dir)
            held_out |= _entity_keys(corpus, "validation", corpora_dir) | _entity_keys(corpus, "test", corpora_dir)
        except FileNotFoundError:
            assert f"corpus_train:{corpus}" in kb.stats["skipped"]
    only_held_out = held_out - train
    assert len(only_held_out) > 1000  # the check below has something to catch
    rows = {(name_key(n), t) for n, t, s in zip(kb.names, kb.types, kb.sources) if s == ["corpus_train"]}
    assert rows and rows <= train
    assert not rows & only_held_out


def test_s800_mentions_come_from_train_documents_only(corpora_dir):
    from modeling_vaner.dbr.corpus import s800_train_documents

    documents = s800_train_documents(corpora_dir)
    s800 = corpora_dir / "s800"
    pmid = dict(line.split("\t")[:2] for line in (s800 / "original_S800-1.0/pubmedid.tsv").read_text().splitlines())
    official = {split: set((s800 / f"spyysalo_split/{split}.txt").read_text().split())
                for split in ("train", "devel", "test")}
    placed = {pmid[d].removeprefix("PMID:") for d in documents}
    assert len(documents) == 560 and placed == official["train"]
    kb = build_kb(KBPaths(corpora_dir / "kb", corpora_dir), sources=("s800_train",), progress=False)
    mentions = [line.split("\t") for line in (s800 / "original_S800-1.0/S800.tsv").read_text().splitlines()]
    held_out_names = {name_key(fields[4]) for fields in mentions if fields[1].split(":")[0] not in documents}
    train_names = {name_key(fields[4]) for fields in mentions if fields[1].split(":")[0] in documents}
    kb_names = {name_key(n) for n in kb.names}
    assert kb_names <= train_names and len(kb_names) > 0.95 * len(train_names)  # a few are filtered ("a", "871")
    assert held_out_names - train_names and not kb_names & (held_out_names - train_names)


@pytest.mark.parametrize("corpora_fixture, names_per_type", [
    ("tiny_corpora_dir", 5), pytest.param("corpora_dir", 500, marks=pytest.mark.integration)
])
def test_default_kb_sources_and_statistics(request, cache_dir, corpora_fixture, names_per_type):
    corpora_dir = request.getfixturevalue(corpora_fixture)
    assert "chemdner_dev" not in DEFAULT_SOURCES and "vaner_umls_kg" not in DEFAULT_SOURCES
    kb = load_kb(corpora_dir=corpora_dir, cache_dir=cache_dir, progress=False)
    assert all(kb.stats["by_type"][t] > names_per_type for t in ("Disease", "Chemical", "Gene", "Species"))
    assert set(kb.stats["by_source"]) == set(DEFAULT_SOURCES)
    assert len({(name_key(n), t) for n, t in zip(kb.names, kb.types)}) == len(kb)  # deduplicated
    assert load_kb(corpora_dir=corpora_dir, cache_dir=cache_dir, progress=False).names == kb.names  # from the cache


def test_user_tsv_and_errors(tmp_path, tiny_corpora_dir):
    corpora_dir = tiny_corpora_dir
    good = tmp_path / "umls.tsv"
    good.write_text("# name\ttype\nheart attack\tDisease or Syndrome\nAspirin\tChemical\naspirin \tChemical\n")
    kb = build_kb(KBPaths(corpora_dir / "kb", corpora_dir), sources=(), user_tsvs=[good], progress=False)
    assert sorted(zip(kb.names, kb.types)) == [("Aspirin", "Chemical"), ("heart attack", "Disease")]
    bad = tmp_path / "bad.tsv"
    bad.write_text("ok\tGene\nno type here\n")
    with pytest.raises(ValueError, match=r"bad\.tsv:2"):
        build_kb(KBPaths(corpora_dir / "kb", corpora_dir), sources=(), user_tsvs=[bad], progress=False)
    with pytest.raises(ValueError, match="unknown knowledge-base source"):
        build_kb(KBPaths(corpora_dir / "kb", corpora_dir), sources=("umls",), progress=False)


# --------------------------------------------------------------------------------------- mining, retrieval, assembly


def test_phrase_mining():
    tokens = "The adenomatous polyposis coli ( APC ) tumour - suppressor protein binds IL - 2 in E . coli .".split()
    phrases = PhraseMiner(max_words=4, max_phrases=50)(tokens)
    assert "adenomatous polyposis coli" in phrases and "APC" in phrases and "IL - 2" in phrases
    assert "E . coli" in phrases and "suppressor protein binds IL" in phrases
    assert not any(p.split()[0].lower() in {"the", "in"} or p.split()[-1] in {"-", "."} for p in phrases)
    assert PhraseMiner(max_phrases=3)(tokens) == phrases[:3]


# The real knowledge base only: the TF-IDF vocabulary keeps character 3-grams found in two names or more (min_df=2),
# which the few dozen names of the tiny corpora do not give short symbols ("p53", "KRAS").
@pytest.mark.parametrize("corpora", [pytest.param("corpora_dir", marks=pytest.mark.integration)], indirect=True)
def test_retrieval_finds_exact_names(builder):
    kb = builder.kb
    names = [kb.names[i] for i in range(0, len(kb), max(1, len(kb) // 50))]
    for name, hits in zip(names, builder.retriever.search(names, top_k=3)):
        assert name_key(name) in {name_key(kb.names[row]) for row, _ in hits}, name
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_assembly_caps_and_labels_on_hand_made_candidates(builder, corpora):
    kb = builder.kb
    rows = list(range(0, len(kb), 1 if corpora.tiny else 97))  # more candidates than the caps either way
    positives, negatives = select_entities(rows, kb, "Disease", random.Random(0), DBRConfig())
    assert len(positives) == 10 and len(negatives) == 5
    sentence = dense_sentence(kb, positives, negatives, random.Random(0))
    assert [e["positive"] for e in sentence["dbr_entities"]].count(True) == 10
    assert sentence["tokens"] == [w for e in sentence["dbr_entities"] for w in word_strings(e["name"])]


def _check_dense_record(record, kb_pairs):
    assert record["source"] == "dbr" and record["instruction_dataset"] is None
    entities = record["dbr_entities"]
    positives = [e for e in entities if e["positive"]]
    assert 1 <= len(entities) and len(positives) <= 10 and len(entities) - len(positives) <= 5
    tags = []
    for entity in entities:
        assert (entity["name"], entity["type"]) in kb_pairs
        assert type_matches(entity["type"], record["entity_type"]) == entity["positive"]
        size = len(word_strings(entity["name"]))
        tags += [1] + [2] * (size - 1) if entity["positive"] else [0] * size
    assert record["ner_tags"] == tags and len(record["tokens"]) == len(tags)


@pytest.mark.parametrize("variant", ["dbr", "random"])
def test_dense_sentences_caps_labels_and_kb_types(builder, ncbi_sentences, variant):
    records = builder.build(ncbi_sentences, "ncbi-train", variant, seed=SEED, use_cache=False, progress=False)
    assert len(records) > 0.8 * len(ncbi_sentences)
    kb_pairs = set(zip(builder.kb.names, builder.kb.types))
    for record in records:
        _check_dense_record(record, kb_pairs)


def test_random_variant_keeps_the_entity_counts(builder, ncbi_sentences):
    def counts(variant):
        built = builder.build(ncbi_sentences, "ncbi-train", variant, seed=SEED, use_cache=False, progress=False)
        positives = {r["id"]: [e["positive"] for e in r["dbr_entities"]] for r in built}
        return {key: (flags.count(True), flags.count(False)) for key, flags in positives.items()}

    assert counts("dbr") == counts("random")


def test_same_seed_same_dense_sentences_and_resumable_shards(builder, corpora, monkeypatch):
    from modeling_vaner.dbr import assembly
    from modeling_vaner.dbr.mixture import corpus_records

    if corpora.tiny:  # two shards of the 7 tiny s800 train sentences
        monkeypatch.setattr(assembly, "SHARD_SIZE", 4)
    sentences = corpus_records("s800", "train", corpora.path, limit=assembly.SHARD_SIZE + corpora.limit(40))
    first = builder.build(sentences, "s800-train", "dbr", seed=SEED, progress=False)
    shards = sorted(builder.shard_dir("s800-train", "dbr", SEED).glob("shard-*.jsonl"))
    assert len(shards) == 2
    shards[1].unlink()  # an interrupted build: the second shard is missing
    assert builder.build(sentences, "s800-train", "dbr", seed=SEED, progress=False) == first
    assert builder.build(sentences, "s800-train", "dbr", seed=SEED, use_cache=False, progress=False) == first
    assert builder.build(sentences, "s800-train", "dbr", seed=SEED + 1, use_cache=False, progress=False) != first


# ---------------------------------------------------------------------------------------------- mixture and dataset


def test_training_mixture_format(builder, corpora):
    limit, corpora_dir = corpora.limit(40), corpora.path
    mixture = build_training_mixture(["ncbi", "s800"], limit=limit, corpora_dir=corpora_dir, seed=SEED, builder=builder,
                                     progress=False)
    assert all(tuple(record) == RECORD_KEYS for record in mixture)
    corpus = [r for r in mixture if r["source"] == "corpus"]
    dense = [r for r in mixture if r["source"] == "dbr"]
    assert len(corpus) == 2 * limit and dense and len({r["id"] for r in mixture}) == len(mixture)
    assert all(r["instruction_dataset"] == r["corpus"] for r in corpus)
    assert all(r["instruction_dataset"] is None and r["entity_type"] == CORPUS_TYPES[r["corpus"]] for r in dense)
    assert mixture == build_training_mixture(["ncbi", "s800"], limit=limit, corpora_dir=corpora_dir, seed=SEED,
                                             builder=builder, progress=False)
    none = build_training_mixture(["ncbi"], variant="none", limit=limit, corpora_dir=corpora_dir, progress=False)
    assert [r["source"] for r in none] == ["corpus"] * limit
    with pytest.raises(ValueError, match="unknown DBR variant"):
        build_training_mixture(["ncbi"], variant="dense", corpora_dir=corpora_dir)


def test_export_loads_with_load_dataset(tmp_path, corpora, cache_dir):
    from datasets import load_dataset

    limit = corpora.limit(30)
    output = export_dataset(tmp_path / "vaner-dbr", ["ncbi", "linnaeus"], corpora_dir=corpora.path, seed=SEED,
                            limit=limit, kb_sources=TEST_SOURCES, cache_dir=cache_dir, progress=False)
    hf_cache = str(tmp_path / "hf-cache")  # the datasets cache keys local folders by name: one per run
    ncbi = load_dataset(str(output), "ncbi", split="train", cache_dir=hf_cache)
    mix = load_dataset(str(output), "mix", split="train", cache_dir=hf_cache)
    assert set(ncbi["source"]) == {"corpus", "dbr"} and ncbi.num_rows > limit
    assert mix.num_rows > ncbi.num_rows and set(mix["corpus"]) == {"ncbi", "linnaeus"}
    assert ncbi.features["ner_tags"].feature.names == ["O", "B", "I"]
    card = (output / "README.md").read_text()
    assert "config_name: mix" in card and "corpus_train" in card
    assert json.loads((output / "kb_stats.json").read_text())["by_source"].keys() == {"corpus_train"}


def test_cli_build_and_check(tmp_path, corpora, cache_dir, capsys):
    import argparse

    from modeling_vaner.cli import dbr as cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    common = ["--corpora-dir", str(corpora.path), "--kb-sources", *TEST_SOURCES, "--cache-dir", str(cache_dir),
              "--seed", str(SEED), "--no-progress"]
    output = tmp_path / "ncbi.jsonl"
    build_limit, check_limit = corpora.limit(20), corpora.limit(30)
    args = parser.parse_args(["dbr", "build", "--corpus", "ncbi", "--limit", str(build_limit), "--mixture", "--output",
                              str(output), *common])
    assert args.func(args) == 0
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["source"] for r in records].count("corpus") == build_limit
    args = parser.parse_args(["dbr", "check", "--files", "ncbi", "--limit", str(check_limit), *common])
    assert args.func(args) == 0
    assert f"| ncbi | mined | {check_limit} |" in capsys.readouterr().out
