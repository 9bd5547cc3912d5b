"""Concept identifiers where users get entities: the pipeline's `link=True`, `vaner extract --link`, `vaner annotate
--link` (PubTator round trip read back by `bioc`), the writers, the linking benchmark, end-to-end scoring; on the
tiny synthetic dictionaries (`linking_fixtures.py`)."""

import json
import os

import pytest
from linking_resources import ACCEPTANCE, RESOURCES, TINY_DATA, TINY_KB


def test_pipeline_link_option(tiny_pipeline, tiny_linker, monkeypatch):
    import torch

    with torch.no_grad():
        tiny_pipeline.model.score.bias.copy_(torch.tensor([0.0, 0.5, 0.0]))  # towards B: entities appear
    tiny_pipeline.linker = tiny_linker
    text = "Mutations in BRCA1 cause breast cancer."
    plain = tiny_pipeline(text, entity_types=["Gene"])
    linked = tiny_pipeline(text, entity_types=["Gene"], link=True)
    assert plain and all("id" not in entity for entity in plain)
    assert [{k: v for k, v in e.items() if k not in ("id", "id_score")} for e in linked] == plain
    assert all(("id" in e and "id_score" in e) and (e["id"] is None) == (e["id_score"] is None) for e in linked)
    assert any(e["word"] == "BRCA1" and e["id"] == "NCBIGene:672" for e in linked) or all(
        e["word"] != "BRCA1" for e in linked
    )
    with pytest.raises(ValueError, match="link=True gives entities identifiers"):
        tiny_pipeline(text, entity_types=["Gene"], link=True, aggregation_strategy="none")
    with pytest.raises(ValueError, match="link must be True or False"):
        tiny_pipeline(text, link="yes")


def test_pipeline_without_the_package_says_so(tiny_pipeline, monkeypatch):
    import importlib

    real = importlib.import_module

    def no_linking(name, *args):
        if name.startswith("modeling_vaner.linking"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_linking)
    tiny_pipeline.linker = None
    with pytest.raises(ImportError, match="link=True needs the vaner package"):
        tiny_pipeline.concept_linker()


def test_annotate_links_with_the_whole_document(tiny_linker):
    from modeling_vaner.annotate import tag_chunk
    from modeling_vaner.documents import Document, Passage

    title, abstract = "Huntington disease (HD) and BRCA1.", "HD patients."
    document = Document("7", [Passage(0, title), Passage(len(title) + 1, abstract)], 1)

    def tagger(texts, **_):  # the abstract's "HD" and the title's "BRCA1", as a tagger would find them
        return [[{"entity_group": "Gene", "score": 0.9, "word": "BRCA1", "start": 28, "end": 33}],
                [{"entity_group": "Disease", "score": 0.8, "word": "HD", "start": 0, "end": 2}]][: len(texts)]

    record, = tag_chunk(tagger, [(0, document)], {}, tiny_linker)
    assert [(e["word"], e["start"], e["id"]) for e in record["entities"]] == [
        ("BRCA1", 28, "NCBIGene:672"), ("HD", len(title) + 1, "MESH:D006816")
    ]  # the abstract's "HD" is defined in the title


def test_writers_carry_identifiers(tmp_path):
    import bioc
    from bioc import biocjson, pubtator

    from modeling_vaner.document_writers import LINKED_IDENTIFIERS, open_writer

    record = {"id": "7", "passages": [{"offset": 0, "text": "BRCA1 in mice."}, {"offset": 15, "text": "None."}],
              "entities": [{"entity_group": "Gene", "score": 0.9, "word": "BRCA1", "start": 0, "end": 5,
                            "id": "NCBIGene:672", "id_score": 1.0},
                           {"entity_group": "Species", "score": 0.8, "word": "mice", "start": 9, "end": 13,
                            "id": None, "id_score": None}]}
    for output_format, name in (("pubtator", "out.pubtator"), ("bioc-json", "out.json"), ("jsonl", "out.jsonl")):
        writer = open_writer(tmp_path / name, output_format, linked=True)
        writer.write(record)
        writer.close()
    with open(tmp_path / "out.pubtator", encoding="utf-8") as handle:
        annotations = pubtator.load(handle)[0].annotations
    assert [(a.start, a.end, a.text, a.type, a.id) for a in annotations] == [
        (0, 5, "BRCA1", "Gene", "NCBIGene:672"), (9, 13, "mice", "Species", "-")
    ]
    with open(tmp_path / "out.json", encoding="utf-8") as handle:
        collection = biocjson.load(handle)
    assert collection.infons["concept_identifiers"] == LINKED_IDENTIFIERS
    infons = [a.infons for p in collection.documents[0].passages for a in p.annotations]
    assert infons[0]["identifier"] == "NCBIGene:672" and infons[0]["identifier_score"] == "1.0000"
    assert infons[1]["identifier"] == "" and "identifier_score" not in infons[1]
    line = json.loads((tmp_path / "out.jsonl").read_text())
    assert line["entities"][0]["id"] == "NCBIGene:672" and line["entities"][1]["id_score"] is None
    assert isinstance(collection, bioc.BioCCollection)


def test_extract_link_command(tiny_model_dir, tmp_path, monkeypatch, capsys):
    from modeling_vaner.cli import main

    monkeypatch.setenv("VANER_CACHE", str(tmp_path / "cache"))
    code = main(["extract", ACCEPTANCE, "--model", str(tiny_model_dir), "--precision", "fp32", "--types", "Gene",
                 "--format", "jsonl", "--link", "--kb-dir", str(TINY_KB), "--linking-dir", str(TINY_DATA)])
    assert code == 0
    entities = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert entities and all("id" in entity and "id_score" in entity for entity in entities)
    assert main(["extract", ACCEPTANCE, "--model", str(tiny_model_dir), "--link", "--kb-dir",
                 str(tmp_path / "absent")]) == 2
    assert "knowledge-base directory not found" in capsys.readouterr().err


def test_annotate_link_command_pubtator_round_trip(tiny_model_dir, tmp_path, monkeypatch):
    from bioc import pubtator

    from modeling_vaner.cli import main

    monkeypatch.setenv("VANER_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "in.pubtator"
    source.write_text("7|t|Mutations in BRCA1 cause breast cancer.\n7|a|Huntington disease (HD) in mice.\n\n"
                      "8|t|Tamoxifen and HD.\n8|a|No abstract here.\n\n", encoding="utf-8")
    output = tmp_path / "out.pubtator"
    for name in [name for name in os.environ if name.startswith("VANER_") and name != "VANER_CACHE"]:
        monkeypatch.delenv(name)
    directories = ["--kb-dir", str(TINY_KB), "--linking-dir", str(TINY_DATA)]
    for extra in (directories, []):  # with the directories, and with the (tiny) bundle alone
        assert main(["annotate", str(source), str(output), "--model", str(tiny_model_dir), "--precision", "fp32",
                     "--types", "Gene", "Disease", "--link", "--overwrite", *extra]) == 0
        with open(output, encoding="utf-8") as handle:
            documents = pubtator.load(handle)
        assert [d.pmid for d in documents] == ["7", "8"]
        annotations = [a for d in documents for a in d.annotations]
        lines = [line.split("\t") for line in output.read_text(encoding="utf-8").splitlines() if "\t" in line]
        assert annotations and len(annotations) == len(lines)  # bioc reads every annotation back
        assert all(len(line) == 6 and line[5] for line in lines)  # the identifier column: a CURIE or "-"
        assert [a.id for a in annotations] == [line[5] for line in lines]
        assert all(a.id == "-" or a.id.split(":")[0] in ("MESH", "OMIM", "NCBIGene") for a in annotations)
        for document in documents:
            text = document.title + " " + document.abstract
            assert all(text[a.start:a.end] == a.text for a in document.annotations)


def test_linking_benchmark_builds_each_type(tmp_path, tiny_bundle):
    import importlib.util

    script = RESOURCES.parents[2] / "benchmarks" / "linking.py"
    spec = importlib.util.spec_from_file_location("linking_benchmark", script)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    built = benchmark.measure_build(str(TINY_KB), str(TINY_DATA), tmp_path, str(tiny_bundle))
    assert set(built) == {"Disease", "Chemical", "Gene", "Species"}
    assert built["Gene"]["probe"] == ["BRCA1", [["NCBIGene:672", 1.0]]]
    assert all(result["cache_mib"] >= 0 and result["seconds"] >= 0 for result in built.values())
    assert len(list(tmp_path.glob("cache-*/dictionaries/*.pkl"))) == 4


def test_end_to_end_counts_a_span_only_with_its_identifier(tmp_path):
    from modeling_vaner.linking import Linker
    from modeling_vaner.linking.evaluation import evaluate_end_to_end

    user = tmp_path / "wombats.tsv"
    user.write_text("wombat\tSpecies\tNCBITaxon:29078\nhere\tSpecies\tNCBITaxon:1\n", encoding="utf-8")
    linker = Linker(kb_dir=TINY_KB, linking_dir=TINY_DATA, cache_dir=tmp_path / "cache", user_files=[user])

    def tagger(texts, entity_types):  # S800's tiny test document: "Wombats here. None."
        assert texts == ["Wombats here. None."] and entity_types == ["Species"]
        return [[{"entity_group": "Species", "score": 0.9, "word": "Wombats", "start": 0, "end": 7},
                 {"entity_group": "Species", "score": 0.9, "word": "here", "start": 8, "end": 12},
                 {"entity_group": "Species", "score": 0.9, "word": "None", "start": 14, "end": 18}]]

    result = evaluate_end_to_end(linker, tagger, "s800", "test", TINY_DATA)
    assert result["gold_mentions"] == 1
    assert result["ner_linking"] == {"precision": 50.0, "recall": 100.0, "f1": 66.67}  # "here" linked, wrongly
    assert result["ner_only"]["precision"] == 33.33  # three spans, one gold
