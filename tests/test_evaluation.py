"""Evaluation: the offline seqeval metric, hand-computed scores on a hand-made file, windowing, the report."""

import argparse
import json

import pytest
import torch

from dataset_scripts.corpora import PAPER_F1
from modeling_vaner.cli.evaluate import register
from modeling_vaner.evaluation import evaluate_corpora, format_table, subsample
from modeling_vaner.scoring import load_metric, score_records, summarize

TAGGED_FILE = "Breast\tB-Disease\ncancer\tI-Disease\nand\tO\nasthma\tB-Disease\n.\tO\n\nDiabetes\tB-Disease\n"


def always_b_model(backbone, **overrides):
    """A tiny VANER model whose head predicts B for every token, and its tokenizer."""
    from modeling_vaner.backbone import build_vaner_model

    model, tokenizer = build_vaner_model(str(backbone), **overrides)
    with torch.no_grad():
        model.score.weight.zero_()
        model.score.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))
    return model.eval(), tokenizer


def evaluate_cli(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["evaluate", *argv])
    return args.func(args)


def test_metric_loads_offline_and_counts():
    result = load_metric().compute(
        predictions=[["B-D", "I-D", "O", "B-D"], ["I-D", "O"]],
        references=[["B-D", "I-D", "O", "O"], ["B-D", "O"]],
    )
    # gold: (0-1), (second sentence 0); predicted: (0-1), (3), (I without B starts one: second sentence 0).
    assert result["true_positives"] == 2 and result["predicted_entities"] == 3 and result["gold_entities"] == 2
    assert result["precision"] == pytest.approx(2 / 3) and result["recall"] == 1.0
    assert result["f1"] == pytest.approx(0.8)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_hand_made_file_gives_hand_computed_scores(tmp_path, tiny_backbone, capsys, runtime):
    from modeling_vaner.export import save_vaner_folder
    from modeling_vaner.onnx_export import export_onnx

    model, tokenizer = always_b_model(tiny_backbone)
    save_vaner_folder(model, tokenizer, tmp_path / "model")
    onnx = ["--onnx", str(export_onnx(model, tmp_path / "model.onnx"))] if runtime == "onnx" else []
    (tmp_path / "gold.tsv").write_text(TAGGED_FILE)
    output = tmp_path / "report.json"
    assert evaluate_cli(
        ["--model", str(tmp_path / "model"), "--file", str(tmp_path / "gold.tsv"), "--type", "Disease",
         "--precision", "fp32", "--output", str(output), "--predictions", str(tmp_path / "predictions"), *onnx]
    ) == 0
    # Every word but "." (no letter or digit) is predicted as a one-word entity: 5 predicted, 3 gold, 2 right
    # (asthma, Diabetes).
    report = json.loads(output.read_text())
    scores = report["corpora"]["gold Disease"]  # one entry per type of the file
    assert (scores["true_positives"], scores["predicted_entities"], scores["gold_entities"]) == (2, 5, 3)
    # "Breast" has other boundaries than "Breast cancer", "cancer" overlaps that gold entity again: spurious, as
    # "and" is; no gold entity is left without an overlapping prediction
    assert scores["errors"] == report["overall"]["errors"] == {"boundary": 1, "missed": 0, "spurious": 2}
    assert (tmp_path / "predictions" / "gold.Disease.conll").read_text() == (
        "Breast B-Disease B-Disease\ncancer I-Disease B-Disease\nand O B-Disease\nasthma B-Disease B-Disease\n"
        ". O O\n\nDiabetes B-Disease B-Disease\n\n"
    )
    assert scores["precision"] == pytest.approx(2 / 5) and scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(1 / 2)
    assert report["overall"]["f1"] == pytest.approx(1 / 2) and report["instruction"] == "type-only"
    # what the score was computed with: weights, decoding and the CPU's bf16 support
    weights = "ONNX Runtime: model.onnx" if onnx else "float32"
    assert report["inference"]["weights"] == weights and report["inference"]["decoding"] == "viterbi"
    assert report["inference"]["cpu"] in ("amx", "avx512_bf16", "no native bf16", "unknown")
    assert "gold" in capsys.readouterr().out


def test_long_sentences_are_windowed_not_truncated(tiny_backbone):
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    model, tokenizer = always_b_model(tiny_backbone, max_window_tokens=80)  # about 3x less than the sentence
    tagger = VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", precision="fp32"
    )
    words = [f"word{i}" for i in range(80)]
    record = {"tokens": words, "ner_tags": [1] * 80, "entity_type": "Disease"}
    scores = score_records(tagger, [record], "ncbi")
    assert scores["predicted_entities"] == scores["gold_entities"] == scores["true_positives"] == 80


def test_dropped_words_are_an_error():
    class Truncating:
        def tag_words(self, sentences, entity_type, dataset=None, batch_size=None):
            return [[0] * (len(words) - 1) for words in sentences]

    record = {"tokens": ["a", "cancer"], "ner_tags": [0, 1], "entity_type": "Disease"}
    with pytest.raises(ValueError, match="1 predicted tags for 2 gold tags"):
        score_records(Truncating(), [record], None)


def test_report_table_and_summary():
    per_corpus = {
        "ncbi": {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "true_positives": 2, "predicted_entities": 4,
                 "gold_entities": 2, "errors": {"boundary": 0, "missed": 0, "spurious": 2}, "sentences": 3},
        "s800": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "true_positives": 1, "predicted_entities": 1,
                 "gold_entities": 2, "errors": {"boundary": 0, "missed": 1, "spurious": 0}, "sentences": 2},
    }
    summary = summarize(per_corpus)
    assert summary["overall"]["precision"] == pytest.approx(3 / 5) and summary["overall"]["recall"] == 0.75
    assert summary["overall"]["errors"] == {"boundary": 0, "missed": 1, "spurious": 2}
    assert summary["mean_f1"] == pytest.approx(2 / 3)
    table = format_table({"corpora": per_corpus, **summary})
    assert f"{PAPER_F1['ncbi']:.2f}" in table and f"{PAPER_F1['s800']:.2f}" in table and "66.67" in table
    header, ncbi, s800, overall = table.splitlines()[:4]
    assert header.split()[-3:] == ["boundary", "missed", "spurious"]
    assert ncbi.split()[-3:] == ["0", "0", "2"] and s800.split()[-3:] == ["0", "1", "0"]
    assert overall.split()[-3:] == ["0", "1", "2"] and len(overall) == len(ncbi) == len(header)
    long_name = {"celltypes_test CellType": per_corpus["ncbi"]}  # a file's row: its columns stay aligned
    lines = format_table({"corpora": long_name, **summarize(long_name)}).splitlines()
    assert lines[1].index("66.67") == lines[0].index("F1") - 3 == lines[2].index("66.67")


def test_subsample_is_seeded_and_ordered():
    items = [{"id": i} for i in range(50)]
    first, again = subsample(items, 10, 3), subsample(items, 10, 3)
    assert first == again and [r["id"] for r in first] == sorted(r["id"] for r in first)
    assert subsample(items, None, 3) == items


def test_cli_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="x.tsv does not exist"):
        evaluate_cli(["--file", str(tmp_path / "x.tsv")])
    (tmp_path / "untyped.tsv").write_text("Aspirin\tB\n")
    with pytest.raises(ValueError, match="untyped.tsv: tags without a type .* need the entity type"):
        evaluate_cli(["--file", str(tmp_path / "untyped.tsv")])
    with pytest.raises(ValueError, match="unknown corpus ncbi-disease"):
        evaluate_cli(["--corpus", "ncbi-disease"])
    (tmp_path / "taken").write_text("")
    with pytest.raises(ValueError, match="taken is a file; the predictions go to a folder"):
        evaluate_cli(["--file", str(tmp_path / "untyped.tsv"), "--predictions", str(tmp_path / "taken")])


def test_all_means_the_available_corpora_and_says_which_are_skipped(tmp_path, tiny_corpora_dir, capsys):
    import shutil

    from dataset_scripts.corpora import CorpusUnavailableError
    from modeling_vaner.evaluation import corpora_to_score

    (tmp_path / "NCBI-disease").mkdir()
    shutil.copytree(tiny_corpora_dir / "vaner_dbr" / "ncbi", tmp_path / "vaner_dbr" / "ncbi")
    with pytest.raises(CorpusUnavailableError, match="s800 test: expected file"):
        corpora_to_score(["ncbi", "s800"], "test", tmp_path)  # named corpora must all be readable
    assert corpora_to_score(["all"], "test", tmp_path) == ["ncbi"]
    skipped = [line for line in capsys.readouterr().err.splitlines() if line.startswith("vaner evaluate: skipping")]
    assert len(skipped) == 7 and "skipping s800: s800 test: expected file" in "\n".join(skipped)


def test_evaluation_keeps_each_finished_corpus(tiny_backbone, tiny_corpora_dir):
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    model, tokenizer = always_b_model(tiny_backbone, max_window_tokens=80)
    tagger = VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", precision="fp32"
    )
    partial_reports = []
    with pytest.raises(ValueError, match="unknown corpus 'nope'"):
        evaluate_corpora(tagger, ["ncbi", "nope"], "test", tiny_corpora_dir, limit=3, on_corpus=partial_reports.append)
    assert [list(report["corpora"]) for report in partial_reports] == [["ncbi"]]


# ---- nothing to score, types the model was not trained on, files written only when asked (issue 31) ---------------
@pytest.fixture
def always_b_folder(tmp_path, tiny_backbone):
    from modeling_vaner.export import save_vaner_folder

    return save_vaner_folder(*always_b_model(tiny_backbone), tmp_path / "model")


NOTHING = "no sentence to score (the file is empty or has no entity tag)"
NO_DISEASE = "no entity of type 'Disease' in its 1 sentence: nothing to score"


@pytest.mark.parametrize(
    "content, type_args, message",
    [
        ("", [], NOTHING),  # an empty file
        ("", ["--type", "Disease"], NOTHING),
        ("Aspirin\tO\nworks\tO\n", [], NOTHING),  # sentences, but no entity tag
        ("Aspirin\tO\nworks\tO\n", ["--type", "Disease"], NO_DISEASE),
    ],
)
def test_a_file_with_nothing_to_score_is_an_error_naming_it(tmp_path, content, type_args, message, capsys):
    from modeling_vaner.cli import main

    path = tmp_path / "gold.tsv"
    path.write_text(content)
    # checked before the model loads: a model that does not exist is never reached
    assert main(["evaluate", "--file", str(path), *type_args, "--model", str(tmp_path / "no-model")]) == 2
    assert capsys.readouterr().err.splitlines() == [f"vaner evaluate: error: {path}: {message}"]


def test_a_limit_that_draws_no_entity_is_an_error(tmp_path):
    from modeling_vaner.evaluation import file_groups

    records = [{"tokens": ["a"], "ner_tags": [0], "entity_type": "Disease"}] * 5
    records.append({"tokens": ["cancer"], "ner_tags": [1], "entity_type": "Disease"})
    assert file_groups(records, "gold.tsv")["Disease"] == records
    drawn = r"gold.tsv: no entity of type 'Disease' in the 1 sentence drawn \(--limit 1\)"
    with pytest.raises(ValueError, match=drawn):
        file_groups(records, "gold.tsv", limit=1, seed=0)


def test_evaluate_writes_a_file_only_with_output(tmp_path, always_b_folder, monkeypatch, capsys):
    (tmp_path / "gold.tsv").write_text(TAGGED_FILE)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    arguments = ["--model", str(always_b_folder), "--file", str(tmp_path / "gold.tsv"), "--precision", "fp32"]
    assert evaluate_cli(arguments) == 0
    printed = capsys.readouterr()
    assert "gold Disease" in printed.out and "wrote" not in printed.err
    assert list(work.iterdir()) == []  # printed only: no evaluation.json in the working directory
    assert evaluate_cli([*arguments, "--output", "report.json"]) == 0
    assert list(work.iterdir()) == [work / "report.json"] and "wrote report.json" in capsys.readouterr().err


def test_a_file_type_the_model_was_not_trained_on_is_said(tmp_path, always_b_folder, capsys):
    from modeling_vaner.options_vaner import UntrainedEntityTypeWarning

    trained = json.loads((always_b_folder / "config.json").read_text())["entity_types"]
    unknown = "".join(trained) + "X"
    path = tmp_path / "gold.tsv"
    path.write_text(TAGGED_FILE.replace("Disease", unknown) + f"\nMice\tB-{trained[0]}\n")
    arguments = ["--model", str(always_b_folder), "--file", str(path), "--precision", "fp32"]
    with pytest.warns(UntrainedEntityTypeWarning, match=f"{unknown!r} is not one this model was trained on"):
        assert evaluate_cli([*arguments, "--output", str(tmp_path / "report.json")]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["untrained_types"] == [unknown] and report["trained_types"] == trained
    assert f"not trained on: {unknown} (the model's types: {', '.join(trained)})" in capsys.readouterr().out
    with pytest.raises(ValueError, match=f"entity type {unknown!r} is not one this model was trained on"):
        evaluate_cli([*arguments, "--strict-types"])
