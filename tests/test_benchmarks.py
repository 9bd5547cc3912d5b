"""Benchmark scripts run end to end on a tiny model and the tiny committed corpora (their numbers come from real
runs; see the README)."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dbr_ablation_trains_both_arms_on_the_same_budget(tmp_path, tiny_backbone, tiny_corpora_dir):
    ablation = load_script("ablation")
    output = tmp_path / "ablation_dbr.json"
    ablation.main(["dbr", "--backbone", str(tiny_backbone), "--corpora-dir", str(tiny_corpora_dir), "--max-steps", "2",
                   "--train-limit", "8", "--test-limit", "4", "--precision", "fp32",
                   "--work-dir", str(tmp_path / "runs"), "--output", str(output)])
    report = json.loads(output.read_text())
    assert list(report["results"]) == ["dbr", "none"]
    assert [arm["dbr_variant"] for arm in report["results"].values()] == ["dbr", "none"]
    assert all(arm["steps"] == 2 and arm["test_sentences"] == 4 for arm in report["results"].values())
    dbr, none = (report["results"][arm]["test_f1"] for arm in ("dbr", "none"))
    assert report["f1_gain_dbr_minus_none"] == dbr - none


def test_error_classes_and_o_bias_by_hand():
    analysis = load_script("error_analysis")
    sentences = [
        ["Cowden", "disease", "(", "CD", ")", "is", "rare", "."],
        ["CD", "and", "breast", "cancer", "in", "mice"],
    ]
    gold = [{(0, 2), (3, 4)}, {(0, 1), (2, 4)}]
    predicted = [{(0, 2)}, {(3, 4), (5, 6)}]
    report = analysis.error_classes(sentences, predicted, gold)
    assert report == {
        "boundary_false_positives": 1,  # "cancer" inside "breast cancer"
        "spurious": 1,  # "mice"
        "boundary_false_negatives": 1,  # "breast cancer"
        "missed": 2,  # both "CD"
        "missed_abbreviations": 2,
        "missed_abbreviations_defined_only_in_a_previous_sentence": 1,  # the second: defined in sentence 1
        "examples_defined_only_in_a_previous_sentence": ["CD"],
    }
    assert analysis.score(predicted, gold)["true_positives"] == 1
    assert analysis.recall_by_form(sentences, predicted, gold) == {
        "abbreviation_gold": 2, "abbreviation_recall": 0.0, "other_gold": 2, "other_recall": 0.5
    }
    probabilities = torch.tensor([[0.4, 0.6, 0.0], [0.9, 0.0, 0.1]])  # O, B, I per word
    assert analysis.decode(probabilities) == {(0, 1)}
    assert analysis.decode(probabilities, o_bias=1.0) == set()  # 0.4 * e > 0.6


def test_short_forms_propagate_from_their_definition_to_the_next_sentences():
    analysis = load_script("error_analysis")
    sentences = [
        ["Cowden", "disease", "(", "CD", ")", "and", "CD", "."],
        ["CD", "again", ",", "not", "CDK"],
        ["CD", "once", "more"],
        ["Some", "gene", "(", "SG", ")", "and", "SG"],
    ]
    predicted = [{(0, 2)}, set(), set(), set()]  # the long form only; "Some gene" is not a predicted entity
    after = analysis.propagate_short_forms(sentences, predicted, lookback=1)
    assert after == [{(0, 2), (3, 4), (6, 7)}, {(0, 1)}, set(), set()]
    assert analysis.propagate_short_forms(sentences, predicted, lookback=0)[1] == set()
    gold = [{(0, 2), (3, 4)}, set(), set(), set()]
    assert analysis.added_spans(sentences, predicted, after, gold) == {
        "correct": 1, "wrong": 2, "wrong_most_common": [("CD", 2)]
    }


def test_ablation_arms_default_to_both_and_unknown_arms_are_named(capsys):
    ablation = load_script("ablation")
    assert ablation.parse_args(["dbr"]).arms == ["dbr", "none"]
    assert ablation.parse_args(["dbr", "--arms", "dbr"]).arms == ["dbr"]
    with pytest.raises(SystemExit):
        ablation.parse_args(["unmasking", "--arms", "dbr"])
    assert "unknown arms of unmasking: dbr (choose from bidirectional, causal)" in capsys.readouterr().err


def test_error_analysis_context_reading_scores_only_each_sentences_own_words(tiny_pipeline):
    analysis = load_script("error_analysis")
    sentences = [["BRCA1", "is", "a", "gene", "."], ["It", "binds", "BRCA2"], ["TP53", "too"]]
    records = [{"tokens": words, "entity_type": "Gene"} for words in sentences]
    by_split = {split: records for split in analysis.SPLITS}
    alone = analysis.word_probabilities(tiny_pipeline, by_split, "bc2gm", batch_size=4)["test"]
    in_context = analysis.word_probabilities(tiny_pipeline, by_split, "bc2gm", 4, context_sentences=1)["test"]
    assert [len(p) for p in in_context] == [len(p) for p in alone] == [5, 3, 2]
    torch.testing.assert_close(in_context[0], alone[0])  # nothing before the first sentence
    assert not torch.allclose(in_context[1], alone[1])  # the unmasked model attends to the sentence before


def test_speed_benchmark_reads_whole_abstracts(monkeypatch, tiny_corpora_dir):
    monkeypatch.setenv("VANER_CORPORA_DIR", str(tiny_corpora_dir))
    abstracts = load_script("speed").load_abstracts(3)
    assert len(abstracts) == 3
    assert all(text.count(" . ") >= 3 for text in abstracts)  # several sentences each, not one


def test_speed_benchmark_times_the_bare_forward_on_the_pipelines_own_batches(
    tiny_pipeline, tiny_corpora_dir, monkeypatch
):
    monkeypatch.setenv("VANER_CORPORA_DIR", str(tiny_corpora_dir))
    speed = load_script("speed")
    abstracts = speed.load_abstracts(2)
    measured = speed.bench_pipeline(tiny_pipeline, abstracts, batch_size=4, repeat=1)
    rows = [row for text in abstracts for row in tiny_pipeline.preprocess(text)["rows"]]
    assert measured["rows"] == len(rows) and measured["repeat"] == 1
    assert measured["real_tokens"] == sum(len(row.input_ids) for row in rows)
    assert measured["bare_forward_s"] > 0 and measured["pipeline_s"] > 0
    assert list(measured["pipeline_steps_s"]) == ["preprocess", "predict_rows", "postprocess", "release_freed_memory"]
    assert "_forward" not in vars(tiny_pipeline)  # the recording forward is gone: the method runs again


@pytest.mark.parametrize("one_pass", [False, True], ids=["per-type", "one-pass"])
def test_speed_benchmark_times_vaner_against_the_bert_base_peer(
    one_pass, tmp_path, tiny_backbone, tiny_corpora_dir, monkeypatch
):
    from modeling_vaner.backbone import build_vaner_model
    from modeling_vaner.export import save_vaner_folder

    monkeypatch.setenv("VANER_CORPORA_DIR", str(tiny_corpora_dir))
    monkeypatch.setenv("VANER_PRECISION", "fp32")  # ratios only: the precision just has to be one
    model, tokenizer = build_vaner_model(str(tiny_backbone), one_pass=one_pass)
    folder = save_vaner_folder(model.eval(), tokenizer, tmp_path / "vaner-tiny")
    baseline, _ = build_vaner_model(str(tiny_backbone), one_pass=not one_pass)  # the other form, as vaner-smol 2
    baseline_folder = save_vaner_folder(baseline.eval(), tokenizer, tmp_path / "vaner-tiny-baseline")
    output = tmp_path / "speed_peer.json"
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # the script imports its sibling speed.py, as when run
    arguments = ["--model", str(folder), "--baseline", str(baseline_folder), "--abstracts", "2", "--repeat", "1"]
    load_script("speed_peer").main([*arguments, "--out", str(output)])
    report = json.loads(output.read_text())
    assert report["abstracts"] == 2 and report["one_pass"] is one_pass and report["precision"] == "fp32"
    types = list(model.config.entity_types)
    assert report["vaner_passes_per_window"] == {"all_types": 1 if one_pass else len(types), "one_type": 1}
    peer = report["peer"]
    assert (peer["num_hidden_layers"], peer["hidden_size"], peer["labels"]) == (12, 768, 2 * len(types) + 1)
    assert peer["tokens"] > 0 and "bc2gm" in peer["vocabulary"]  # a vocabulary from the tiny training splits
    for name in ("vaner_all_types", "vaner_one_type"):
        rate, peer_rate = report[f"{name}_abstracts_per_s"], report["peer_abstracts_per_s"]
        assert rate > 0 and peer_rate > 0
        assert report[f"{name}_vs_peer"] == pytest.approx(rate / peer_rate)
    assert report["baseline"]["one_pass"] is not one_pass and report["baseline_all_types_abstracts_per_s"] > 0
    assert report["vaner_all_types_vs_baseline"] == pytest.approx(
        report["vaner_all_types_abstracts_per_s"] / report["baseline_all_types_abstracts_per_s"]
    )


def test_annotate_benchmark_compares_speed_and_memory(tmp_path, tiny_model_dir, tiny_corpora_dir, monkeypatch):
    monkeypatch.setenv("VANER_CORPORA_DIR", str(tiny_corpora_dir))
    monkeypatch.setenv("VANER_PRECISION", "fp32")  # a speed ratio only: the precision just has to be one
    output = tmp_path / "annotate.json"
    # the tiny BC2GM train split has 8 sentences: 4 documents, and all 8 for the large collection
    arguments = ["--model", str(tiny_model_dir), "--documents", "4", "--large", "8", "--out", str(output)]
    load_script("annotate").main(arguments)
    report = json.loads(output.read_text())
    assert report["speed"]["documents"] == 4 and report["speed"]["annotate_vs_pipeline"] > 0
    assert [report["memory"][size]["documents"] for size in ("small", "large")] == [4, 8]
    memory = report["memory"]
    assert memory["large_vs_small"] == memory["large"]["peak_rss_mib"] / memory["small"]["peak_rss_mib"]
    assert set(report["processes"]["seconds"]) == {"1x2", "2x1"} and report["processes"]["documents"] == 4


def test_linking_reranker_scores_the_linker_and_its_reranking_on_dev(tmp_path, tiny_model_dir, monkeypatch):
    from linking_resources import TINY_DATA

    monkeypatch.setenv("VANER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VANER_PRECISION", "fp32")  # accuracies on a tiny set: the precision just has to be one
    output = tmp_path / "reranker.json"
    arguments = ["--model", str(tiny_model_dir), "--linking-dir", str(TINY_DATA), "--tasks", "biosyn-ncbi-disease"]
    load_script("linking_reranker").main([*arguments, "--depth", "3", "--out", str(output)])
    report = json.loads(output.read_text())
    result = report["tasks"]["biosyn-ncbi-disease"]
    assert report["layers"][-1] == 2 and result["linker_accuracy@1"] == 100.0  # the tiny model: 2 layers
    # w = 0 is the linker itself, on either half, whatever the cosines
    assert all(result["choice_half"][f"layer {layer}, w 0.0"] == 100.0 for layer in report["layers"])
    assert result["whole_dev"]["linker"] == result["linker_accuracy@1"]
    assert result["chosen"]["weight"] in report["weights"] and result["mentions"] > 1
