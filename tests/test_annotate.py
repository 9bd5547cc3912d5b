"""Whole collections: the streaming pipeline and its arguments, the document formats (text, JSONL, PubTator,
BioC), `vaner annotate` (bad records, resume after a kill, several processes under torchrun) and the `datasets`
route. Tiny random model in fp32 (stated: outputs are compared exactly, scores to 4 decimals)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modeling_vaner import annotate as annotate_module
from modeling_vaner.cli import main
from modeling_vaner.documents import BadRecord, Document, read_documents
from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline
from modeling_vaner.text_vaner import split_words

TEXTS = [
    "Mutations in BRCA1 cause breast cancer.",
    "Tamoxifen was given to mice. Patients with Huntington disease improved.",
    "",
    "IL-2 (interleukin-2) and TNF-α rose in α-synuclein–positive cells…",
    "Cisplatin.",
]


def entity_keys(entities):
    return [(e["start"], e["end"], e["entity_group"], round(e["score"], 4)) for e in entities]


def test_a_generator_gives_an_iterator_chunk_by_chunk(tiny_pipeline):
    consumed = []

    def texts():
        for text in TEXTS:
            consumed.append(text)
            yield text

    results = tiny_pipeline(texts(), chunk_size=2)
    assert not isinstance(results, list) and consumed == []  # nothing runs before the first result is asked for
    first = next(results)
    assert len(consumed) == 2  # one chunk read, not the collection
    streamed = [first, *results]
    assert [entity_keys(r) for r in streamed] == [entity_keys(r) for r in tiny_pipeline(TEXTS)]
    assert isinstance(tiny_pipeline(tuple(TEXTS)), list)


def test_datasets_and_key_datasets_stream(tiny_pipeline):
    from datasets import Dataset
    from transformers.pipelines.pt_utils import KeyDataset

    expected = [entity_keys(r) for r in tiny_pipeline(TEXTS)]
    assert [entity_keys(r) for r in tiny_pipeline(Dataset.from_dict({"text": TEXTS}), chunk_size=3)] == expected
    abstracts = Dataset.from_dict({"abstract": TEXTS})
    assert [entity_keys(r) for r in tiny_pipeline(KeyDataset(abstracts, "abstract"))] == expected
    with pytest.raises(ValueError, match="no 'text' column .*KeyDataset"):
        tiny_pipeline(abstracts)


def test_construction_arguments_are_defaults_that_calls_override(tiny_vaner):
    model, tokenizer = tiny_vaner
    tagger = VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", precision="fp32", entity_types=["Disease"]
    )
    assert {e["entity_group"] for r in tagger(TEXTS) for e in r} == {"Disease"}
    assert {e["entity_group"] for r in tagger(TEXTS, entity_types=["Gene"]) for e in r} == {"Gene"}
    with pytest.raises(TypeError, match="unexpected arguments: colour"):
        VanerTokenClassificationPipeline(model=model, tokenizer=tokenizer, task="token-classification", colour="red")
    with pytest.raises(ValueError, match="unknown dataset 'pubmed'"):
        VanerTokenClassificationPipeline(
            model=model, tokenizer=tokenizer, task="token-classification", dataset="pubmed"
        )


def test_threshold_and_aggregation_strategies(tiny_pipeline):
    text = TEXTS[1]
    entities = tiny_pipeline(text)
    scores = sorted(e["score"] for e in entities)
    middle = scores[len(scores) // 2]
    assert tiny_pipeline(text, threshold=middle) == [e for e in entities if e["score"] >= middle]
    for strategy in ("simple", "first", "average", "max"):  # words are the units: the four coincide
        assert tiny_pipeline(text, aggregation_strategy=strategy) == entities
    words = tiny_pipeline(text, aggregation_strategy="none")
    spans = split_words(text)
    assert words and {"entity", "score", "index", "word", "start", "end"} == set(words[0])
    for word in words:
        assert (word["start"], word["end"]) == spans[word["index"]] and text[word["start"] : word["end"]] == word[
            "word"
        ]
        assert word["entity"].split("-", 1)[0] in ("B", "I") and 0 < word["score"] <= 1
    # the words of the entities, as B then I's, one dict per word and type
    expected = sorted(
        (spans[i][0], f"{'B' if spans[i][0] == e['start'] else 'I'}-{e['entity_group']}")
        for e in entities
        for i, span in enumerate(spans)
        if e["start"] <= span[0] and span[1] <= e["end"]
    )
    assert sorted((w["start"], w["entity"]) for w in words) == expected


# ---------------------------------------------------------------------------------------------------------------
# Document formats
# ---------------------------------------------------------------------------------------------------------------
PUBTATOR = """\
100|t|BRCA1 and breast cancer
100|a|Mutations in BRCA1 cause breast cancer in women.
100\t0\t5\tBRCA1\tGene\t672
100\t10\t23\tbreast cancer\tDisease\tD001943

200|t|Tamoxifen in mice
200\t0\t9\tTamoxifen\tChemical\t

300|t|Cisplatin and α-synuclein𝛼–positive 🐭 cells…
300|a|Cisplatin (𝛼-CDDP) was given to patients with Ménière’s disease.
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_readers_report_bad_records_with_their_line(tmp_path):
    jsonl = write(
        tmp_path / "docs.jsonl",
        '{"id": "a", "text": "Mice."}\n{"id": "b", "txt": "x"}\nnot json\n'
        '{"pmid": 7, "title": "T", "abstract": "A."}\n',
    )
    records = list(read_documents(jsonl, "jsonl"))
    assert [type(r).__name__ for r in records] == ["Document", "BadRecord", "BadRecord", "Document"]
    assert str(records[1]).endswith("docs.jsonl:2: no 'text' text field (nor 'title' and 'abstract'); fields: id, txt")
    assert str(records[2]).startswith(f"{jsonl}:3: invalid JSON")
    assert records[3].id == "4" and records[3].text() == "T A."  # no id field: the line number
    assert [r.id for r in read_documents(jsonl, "jsonl", id_field="pmid") if isinstance(r, Document)] == ["1", "7"]
    pubtator = list(read_documents(write(tmp_path / "docs.pubtator", PUBTATOR), "pubtator"))
    assert isinstance(pubtator[1], BadRecord) and pubtator[1].line == 6 and "abstract (ID|a|...)" in pubtator[1].problem
    first = pubtator[0]
    assert first.annotations == [(0, 5, "Gene", "BRCA1"), (10, 23, "Disease", "breast cancer")]
    assert all(first.text()[start:end] == text for start, end, _, text in first.annotations)
    junk = list(read_documents(write(tmp_path / "junk.pubtator", "1|t|T\n1|a|A.\nthis line is junk\n"), "pubtator"))
    assert [str(record).split(": ", 1)[1] for record in junk] == [
        "not a PubTator line (ID|t|title, ID|a|abstract or tab-separated fields)"
    ] and junk[0].line == 3
    lines = list(read_documents(write(tmp_path / "docs.txt", "a b\r\n\nc\u2028d\n"), "text"))
    assert [(d.id, d.text()) for d in lines] == [("1", "a b"), ("2", ""), ("3", "c\u2028d")]
    with pytest.raises(ValueError, match="invalid BioC XML"):
        list(read_documents(write(tmp_path / "bad.xml", "<collection><document>"), "bioc-xml"))


def annotate(*arguments) -> int:
    return main(["annotate", *map(str, arguments), "--precision", "fp32"])


@pytest.mark.parametrize("output_format", ["jsonl", "pubtator", "bioc-xml", "bioc-json"])
def test_annotate_writes_exact_document_offsets(tiny_model_dir, tmp_path, output_format, capsys):
    source = write(tmp_path / "in.pubtator", PUBTATOR)
    output = tmp_path / f"out.{output_format}"
    assert annotate(source, output, "--output-format", output_format, "--model", tiny_model_dir) == 0
    err = capsys.readouterr().err
    assert "2 documents written" in err and "1 skipped" in err and "skipped" in err and ":6: " in err
    documents = [d for d in read_documents(source, "pubtator") if isinstance(d, Document)]
    if output_format == "jsonl":
        records = [json.loads(line) for line in output.read_text().splitlines()]
        for document, record in zip(documents, records, strict=True):
            text = document.text()
            assert record["id"] == document.id and record["entities"]
            assert all(text[e["start"] : e["end"]] == e["word"] for e in record["entities"])
        return
    written = list(read_documents(output, output_format))
    assert [d.id for d in written] == ["100", "300"]
    for document, back in zip(documents, written):
        assert back.text() == document.text()  # title + " " + abstract, passages at their offsets
        # offsets count code points, also past astral characters (𝛼, 🐭) that UTF-16 counts twice
        assert back.annotations and all(back.text()[start:end] == text for start, end, _, text in back.annotations)
    assert any(start > back.text().index("🐭") for start, *_ in written[1].annotations)
    if output_format == "pubtator":
        from bioc import pubtator

        with open(output, encoding="utf-8") as handle:  # the bioc package reads every annotation back, unlinked
            parsed = pubtator.load(handle)
        assert [[(a.start, a.end, a.type, a.text, a.id) for a in d.annotations] for d in parsed] == [
            [(start, end, kind, text, "-") for start, end, kind, text in d.annotations] for d in written
        ]
    else:
        assert "concept_identifiers" in output.read_text()


def test_a_thousand_one_line_documents_give_a_thousand_records_in_order(tiny_model_dir, tmp_path):
    source = write(tmp_path / "in.txt", "".join(f"Mice {number} had BRCA1 mutations.\n" for number in range(1000)))
    output = tmp_path / "out.jsonl"
    assert annotate(source, output, "--model", tiny_model_dir, "--types", "Gene", "--batch-size", "64") == 0
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [record["id"] for record in records] == [str(number) for number in range(1, 1001)]
    texts = source.read_text().splitlines()
    assert all(texts[int(r["id"]) - 1][e["start"] : e["end"]] == e["word"] for r in records for e in r["entities"])


def test_annotate_bad_records_skip_or_fail(tiny_model_dir, tmp_path, capsys):
    source = write(tmp_path / "in.jsonl", '{"text": "Mice."}\n{"abstract": "x"}\n')
    output = tmp_path / "out.jsonl"
    assert annotate(source, output, "--model", tiny_model_dir, "--on-error", "fail") == 2
    assert f"{source}:2: no 'text' text field" in capsys.readouterr().err
    assert not output.exists()
    assert annotate(source, output, "--model", tiny_model_dir, "--overwrite") == 0
    err = capsys.readouterr().err
    assert f"skipped {source}:2" in err and "1 documents written" in err and "1 skipped" in err
    assert annotate(source, output, "--model", tiny_model_dir) == 2  # never overwritten silently
    assert "exists: pass --overwrite" in capsys.readouterr().err


def interrupt_at_chunk(monkeypatch, number: int) -> list:
    """Make `annotate_file` get Ctrl-C when it starts tagging its `number`-th chunk; returns the list of calls."""
    real_tag_chunk, calls = annotate_module.tag_chunk, []

    def interrupted(*arguments):
        calls.append(1)
        if len(calls) == number:
            raise KeyboardInterrupt
        return real_tag_chunk(*arguments)

    monkeypatch.setattr(annotate_module, "tag_chunk", interrupted)
    return calls


def annotate_interrupted(*arguments) -> int:
    """`annotate` that a Ctrl-C escaping `main` fails, rather than stopping the whole pytest session."""
    try:
        return annotate(*arguments)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped main: a traceback for the user")


def final_bar(err: str) -> str:
    """The last state of tqdm's bar in captured standard error."""
    return [line for line in err.replace("\r", "\n").splitlines() if line.startswith("annotate: ")][-1]


def test_annotate_resumes_after_a_kill(tiny_model_dir, tmp_path, monkeypatch, capsys):
    source = write(tmp_path / "in.txt", "\n".join(TEXTS * 3) + "\n")
    expected = tmp_path / "expected.jsonl"
    assert annotate(source, expected, "--model", tiny_model_dir, "--chunk-size", "2") == 0
    assert "15/15" in final_bar(capsys.readouterr().err)  # counted first: the bar has its total (and so an ETA)
    output = tmp_path / "out.jsonl"
    calls = interrupt_at_chunk(monkeypatch, 3)
    assert annotate_interrupted(source, output, "--model", tiny_model_dir, "--chunk-size", "2") == 130  # Ctrl-C
    parts = tmp_path / "out.jsonl.parts"
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"vaner annotate: interrupted; 4 documents saved in {parts}/: run the same command to resume"
    )
    journal = parts / "rank-0-of-1.jsonl"
    assert len(journal.read_text().splitlines()) == 1 + 4 and not output.exists()
    with open(journal, "a") as handle:
        handle.write('{"index": 4, "id": "5", "entit')  # a record cut by the kill
    assert annotate(source, output, "--model", tiny_model_dir, "--chunk-size", "2", "--threshold", "0.5") == 2
    assert len(calls) == 3  # other settings: refused before tagging anything
    monkeypatch.undo()
    assert annotate(source, output, "--model", tiny_model_dir, "--chunk-size", "2") == 0
    err = capsys.readouterr().err
    assert f"vaner annotate: resuming after 4 documents saved in {parts}/" in err
    assert "15/15" in final_bar(err)
    assert output.read_text() == expected.read_text()  # every document once, in order
    assert not journal.parent.exists()


def test_a_changed_input_is_not_resumed(tiny_model_dir, tmp_path, monkeypatch, capsys):
    original = "\n".join(TEXTS * 3) + "\n"
    source = write(tmp_path / "in.txt", original)
    output, parts = tmp_path / "out.jsonl", tmp_path / "out.jsonl.parts"
    calls = interrupt_at_chunk(monkeypatch, 2)
    assert annotate_interrupted(source, output, "--model", tiny_model_dir, "--chunk-size", "2") == 130
    advice = f"its saved records would not fit it; delete {parts}/ to start again, or choose another OUTPUT"
    for edited, difference in (
        (original + "A new abstract.\n", f"size: {len(original.encode()):,} bytes then, "),
        (original.replace("BRCA1", "BRCA2"), "content: the same size, another SHA-256"),
    ):
        write(source, edited)
        capsys.readouterr()
        assert annotate(source, output, "--model", tiny_model_dir, "--chunk-size", "2") == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"vaner annotate: error: {source} has changed since the run saved in {parts}/ began")
        assert difference in line and line.endswith(advice)
    assert len(calls) == 2 and not output.exists()  # refused before tagging anything
    monkeypatch.undo()
    write(source, original)  # the same input again: resumed
    assert annotate(source, output, "--model", tiny_model_dir, "--chunk-size", "2") == 0
    assert "resuming after 2 documents" in capsys.readouterr().err
    assert len(output.read_text().splitlines()) == len(TEXTS * 3)


def test_annotate_names_bad_inputs(tiny_model_dir, tmp_path, capsys):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Mice.\nMénière’s disease.\n".encode("latin-1", errors="replace"))
    for source, message in (
        (latin1, f"{latin1}: not valid UTF-8 at byte 7 (line 2: invalid continuation byte 0xe9); save it as UTF-8"),
        (tmp_path, f"{tmp_path} is a directory: give a file"),
    ):
        assert annotate(source, tmp_path / "out.jsonl", "--model", tiny_model_dir) == 2
        assert capsys.readouterr().err.splitlines() == [f"vaner annotate: error: {message}"]
        assert not (tmp_path / "out.jsonl.parts").exists()  # refused before anything was written


def test_annotate_under_torchrun_equals_one_process(tiny_model_dir, tmp_path):
    source = write(tmp_path / "in.txt", "\n".join(TEXTS * 3) + "\n")
    single, merged = tmp_path / "single.jsonl", tmp_path / "merged.jsonl"
    assert annotate(source, single, "--model", tiny_model_dir) == 0
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "modeling_vaner.cli"]
    command += ["annotate", str(source), str(merged), "--model", str(tiny_model_dir), "--precision", "fp32"]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    one = [json.loads(line) for line in single.read_text().splitlines()]
    two = [json.loads(line) for line in merged.read_text().splitlines()]
    assert [(r["id"], entity_keys(r["entities"])) for r in two] == [(r["id"], entity_keys(r["entities"])) for r in one]


def test_annotate_dataset_adds_an_entity_column(tiny_pipeline):
    from datasets import Dataset

    from modeling_vaner.annotate import annotate_dataset

    dataset = Dataset.from_dict({"pmid": list(range(len(TEXTS))), "text": TEXTS})
    tagged = annotate_dataset(dataset, tiny_pipeline, batch_size=2, entity_types=["Disease"])
    assert tagged.column_names == ["pmid", "text", "entities"]
    assert [entity_keys(row) for row in tagged["entities"]] == [
        entity_keys(r) for r in tiny_pipeline(TEXTS, entity_types=["Disease"])
    ]
    words = annotate_dataset(dataset, tiny_pipeline, column="words", aggregation_strategy="none")
    assert all({"entity", "index"} <= set(word) for row in words["words"] for word in row)
    with pytest.raises(ValueError, match="already has a column 'text'"):
        annotate_dataset(dataset, tiny_pipeline, column="text")
    with pytest.raises(ValueError, match="threshold must be"):
        annotate_dataset(dataset, tiny_pipeline, threshold=-1)
