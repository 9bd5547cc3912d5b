"""The one-pass form (`config.one_pass`): one O/B/I head per entity type, every type tagged by one forward per
window; its training rows, its start from a per-type head, and the routes the per-type form has (saved folder,
ONNX, int8, averaged adapters, the card).

Precision: fp32 throughout (tiny models built in fp32, pipelines with precision "fp32"), so comparisons hold to
1e-5 on every CPU."""

import json

import pytest
import torch
from test_export import check_folder_round_trip
from test_training import tiny_config

from modeling_vaner.adapter import ADAPTER_WEIGHTS, average_adapters, save_adapter
from modeling_vaner.backbone import build_vaner_model
from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline
from modeling_vaner.processing_vaner import IGNORE_INDEX, LABEL_B, LABEL_I, LABEL_O, NUM_LABELS, entity_spans
from modeling_vaner.training import ModelArguments, build_model, parse_config, run_training, training_records
from modeling_vaner.training.data import PaddingCollator, encode_records

from probability_checks import compare_word_probabilities

SENTENCES = [
    "Mutations in BRCA1 and BRCA2 raise the risk of breast and ovarian cancer in women .".split(),
    "Tamoxifen and cisplatin were given to mice infected with Escherichia coli .".split(),
]
TEXT = "Mutations in BRCA1 cause breast cancer. Mice were treated with tamoxifen for 12 weeks."


@pytest.fixture
def one_pass_vaner(tiny_backbone):
    """A fresh one-pass `(model, tokenizer)` on the tiny backbone, in eval mode, seeded."""
    torch.manual_seed(0)
    model, tokenizer = build_vaner_model(str(tiny_backbone), one_pass=True)
    return model.eval(), tokenizer


def fp32_pipeline(model, tokenizer, **kwargs):
    return VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", precision="fp32", **kwargs
    )


def set_heads(model, labels: dict[str, int]) -> None:
    """Make the head of each named type predict its label for every token (the other heads: O)."""
    with torch.no_grad():
        model.score.weight.zero_()
        model.score.bias.zero_()
        for index, entity_type in enumerate(model.config.entity_types):
            model.score.bias[index * NUM_LABELS + labels.get(entity_type, LABEL_O)] = 10.0


class CountingForward:
    """Wraps a pipeline's forward, counting its calls and the rows it is given."""

    def __init__(self, forward):
        self.forward, self.calls, self.rows = forward, 0, 0

    def __call__(self, **inputs):
        self.calls += 1
        self.rows += len(inputs["input_ids"])
        return self.forward(**inputs)


def test_config_instruction_and_heads():
    from modeling_vaner.configuration_vaner import VanerConfig

    config = VanerConfig(vocab_size=100, hidden_size=32, num_attention_heads=4, num_hidden_layers=1, one_pass=True)
    assert config.num_tagging_heads == len(config.entity_types) and VanerConfig().num_tagging_heads == 1
    assert config.instruction(None) == "Extract every biomedical entity mentioned in the input. ##input: "
    assert "in the ncbi input" in config.instruction(None, "ncbi")
    assert config.head_index(config.entity_types[2]) == 2
    with pytest.raises(ValueError, match="has no head in this one-pass model .heads: Disease, Chemical"):
        config.head_index("Cell line")
    with pytest.raises(ValueError, match="names no entity type"):
        config.instruction("Disease")
    with pytest.raises(ValueError, match="entity type must be a non-empty string"):
        VanerConfig().instruction(None)


def test_logits_have_a_type_axis_and_the_loss_counts_only_the_labelled_types(one_pass_vaner):
    model, _ = one_pass_vaner
    types = len(model.config.entity_types)
    ids = torch.tensor([[5, 17, 42, 8, 23]])
    labels = torch.full((1, 5, types), IGNORE_INDEX)
    labels[0, 1:, 1] = torch.tensor([LABEL_B, LABEL_I, LABEL_O, LABEL_B])  # only the second type is annotated
    model.train()
    output = model(ids, labels=labels)
    assert output.logits.shape == (1, 5, types, NUM_LABELS)
    expected = torch.nn.functional.cross_entropy(output.logits[0, 1:, 1], labels[0, 1:, 1])
    assert torch.allclose(output.loss, expected)
    output.loss.backward()
    gradient = model.score.weight.grad.view(types, NUM_LABELS, -1).abs().sum((1, 2))
    assert gradient[1] > 0 and gradient[torch.arange(types) != 1].sum() == 0  # no other head learns from this row


def test_pipeline_tags_every_type_from_one_forward_per_window(one_pass_vaner, tiny_vaner):
    model, tokenizer = one_pass_vaner
    set_heads(model, {"Disease": LABEL_B, "Gene": LABEL_I})
    tagger = fp32_pipeline(model, tokenizer, batch_size=1)
    counter = tagger.forward_model = CountingForward(tagger.forward_model)
    entities = tagger(TEXT, entity_types=["Gene", "Disease", "Chemical"])
    windows = len(tagger.preprocess(TEXT)["windows"])
    assert windows == 2 and counter.calls == counter.rows == windows  # one forward per window, three types
    words = len(TEXT.replace(".", "").split())  # a period alone is no entity (no letter or digit)
    # Disease: every word B; Gene: every word I, decoded as one entity per sentence; Chemical: O
    assert sum(entity["entity_group"] == "Disease" for entity in entities) == words
    assert [entity["word"] for entity in entities if entity["entity_group"] == "Gene"] == [
        "Mutations in BRCA1 cause breast cancer.", "Mice were treated with tamoxifen for 12 weeks."
    ]
    assert {entity["entity_group"] for entity in entities} == {"Disease", "Gene"}

    per_type = fp32_pipeline(*tiny_vaner, batch_size=1)
    counter = per_type.forward_model = CountingForward(per_type.forward_model)
    per_type(TEXT, entity_types=["Gene", "Disease", "Chemical"])
    assert counter.calls == 3 * windows  # the per-type form: one forward per type per window


def test_tag_words_of_each_type_match_the_entities(one_pass_vaner):
    model, tokenizer = one_pass_vaner
    torch.manual_seed(3)
    with torch.no_grad():  # heads far apart, so that the types' entities differ
        model.score.weight.normal_(0, 2.0)
    tagger = fp32_pipeline(model, tokenizer)
    sentence = SENTENCES[0]
    text = " ".join(sentence)
    entities = tagger(text, sentence_split=False)
    starts = [len(" ".join(sentence[:index])) + (index > 0) for index in range(len(sentence) + 1)]
    for entity_type in model.config.entity_types:
        labels = tagger.tag_words([sentence], entity_type)[0]
        expected = [(e["start"], e["end"]) for e in entities if e["entity_group"] == entity_type]
        assert [(starts[first], starts[last] - 1) for first, last in entity_spans(labels)] == expected, entity_type
    assert len({e["entity_group"] for e in entities}) > 1
    probabilities = tagger.word_probabilities(SENTENCES, "Gene")
    assert [tuple(p.shape) for p in probabilities] == [(len(s), NUM_LABELS) for s in SENTENCES]


def test_a_type_without_a_head_is_an_error_naming_the_heads(one_pass_vaner):
    tagger = fp32_pipeline(*one_pass_vaner)
    for strict in (False, True):
        with pytest.raises(ValueError, match="'Cell line' has no head in this one-pass model .heads: Disease"):
            tagger("Mice.", entity_types=["Disease", "Cell line"], strict_types=strict)


def test_saved_folder_loads_without_the_package(one_pass_vaner, tmp_path):
    model, tokenizer = one_pass_vaner
    set_heads(model, {"Disease": LABEL_B})
    fresh = check_folder_round_trip(model, tokenizer, tmp_path / "vaner-one-pass", tmp_path)
    assert {entity["entity_group"] for entity in fresh["entities"]} == {"Disease"}
    assert torch.tensor(fresh["logits"]).shape[2:] == (len(model.config.entity_types), NUM_LABELS)


def test_onnx_files_run_and_are_refused_by_the_other_form(one_pass_vaner, tiny_vaner, tmp_path):
    from modeling_vaner.onnx_export import export_onnx

    model, tokenizer = one_pass_vaner
    reference = fp32_pipeline(model, tokenizer)
    exported = fp32_pipeline(model, tokenizer, onnx_model=export_onnx(model, tmp_path / "one-pass.onnx"))
    types = list(model.config.entity_types)
    assert compare_word_probabilities(reference, exported, SENTENCES, types)[0].max() <= 1e-4
    assert [(e["start"], e["entity_group"]) for e in exported(TEXT)] == [
        (e["start"], e["entity_group"]) for e in reference(TEXT)
    ]
    quantized = fp32_pipeline(model, tokenizer, onnx_model=export_onnx(model, tmp_path / "int8.onnx", int8=True))
    assert compare_word_probabilities(reference, quantized, SENTENCES, types)[0].mean() <= 0.01

    per_type_model, _ = tiny_vaner
    per_type_file = export_onnx(per_type_model, tmp_path / "per-type.onnx")
    with pytest.raises(ValueError, match="was not exported from this model .they differ in head_sha256, one_pass"):
        fp32_pipeline(model, tokenizer, onnx_model=per_type_file)
    with pytest.raises(ValueError, match="they differ in head_sha256, one_pass"):
        fp32_pipeline(per_type_model, tokenizer, onnx_model=tmp_path / "one-pass.onnx")


def test_int8_keeps_the_heads_and_stays_near_fp32(tiny_backbone):
    torch.manual_seed(0)
    reference = fp32_pipeline(*build_vaner_model(str(tiny_backbone), one_pass=True))
    torch.manual_seed(0)  # the same model again, quantized in place
    model, tokenizer = build_vaner_model(str(tiny_backbone), one_pass=True)
    quantized = VanerTokenClassificationPipeline(
        model=model.eval(), tokenizer=tokenizer, task="token-classification", precision="int8"
    )
    assert isinstance(quantized.model.score.weight, torch.nn.Parameter)  # the heads are not quantized
    assert torch.equal(quantized.model.score.weight, reference.model.score.weight)
    types = list(reference.model.config.entity_types)
    assert compare_word_probabilities(reference, quantized, SENTENCES, types)[0].mean() <= 0.01


def test_encoded_rows_label_only_their_records_types_and_share_a_sentence(one_pass_vaner, tiny_corpora_dir):
    from modeling_vaner.training import DataArguments

    model, tokenizer = one_pass_vaner
    config = model.config
    data = DataArguments(corpora=["bc5cdr-chem", "bc5cdr-disease"], dbr_variant="none",
                         corpora_dir=str(tiny_corpora_dir), type_only_share=1.0)
    records = training_records(data, seed=0)
    sentences = {tuple(record["tokens"]) for record in records}
    assert len(records) == 2 * len(sentences)  # each sentence annotated by both corpora
    rows = encode_records(records, tokenizer, config, 256, dataset_in_instruction=True)
    assert len(rows) == len(sentences)  # one row per sentence: both types under the one type-only instruction
    chemical, disease = config.head_index("Chemical"), config.head_index("Disease")
    for row in rows:
        labelled = {head for token in row["labels"] for head, label in enumerate(token) if label != IGNORE_INDEX}
        assert labelled == {chemical, disease}
    instruction = tokenizer(config.instruction(None).rstrip())["input_ids"]
    assert rows[0]["input_ids"][: len(instruction)] == instruction
    # a repeat of a type opens another row; the dataset instruction keeps each corpus's rows apart
    assert len(encode_records([records[0]] * 2, tokenizer, config, 256, True)) == 2
    dataset_rows = [{**record, "instruction_dataset": record["corpus"]} for record in records]
    assert len(encode_records(dataset_rows, tokenizer, config, 256, True)) == len(records)
    batch = PaddingCollator(tokenizer.pad_token_id)(rows[:2])
    assert batch["labels"].shape == (2, batch["input_ids"].shape[1], len(config.entity_types))
    assert (batch["labels"][batch["attention_mask"] == 0] == IGNORE_INDEX).all()
    with pytest.raises(ValueError, match="'CellType' has no head"):
        encode_records([{**records[0], "entity_type": "CellType"}], tokenizer, config, 64, True)


def test_a_few_training_steps_lower_the_loss(tmp_path, tiny_backbone, tiny_corpora_dir):
    from modeling_vaner.loading import load_vaner
    from modeling_vaner.run_log import read_log

    config = tiny_config(
        tmp_path, tiny_backbone, one_pass=True, corpora=["bc5cdr-chem", "bc5cdr-disease"], type_only_share=0.5,
        corpora_dir=str(tiny_corpora_dir), max_steps=8, eval_steps=8, save_steps=8, per_device_train_batch_size=2,
    )
    summary = run_training(*parse_config(config))
    log = read_log(tmp_path / "run")
    losses = [entry["loss"] for entry in log if "loss" in entry]
    assert summary["global_step"] == 8 and all(map(torch.isfinite, torch.tensor(losses)))
    # the dev F1 that picks the checkpoint: each corpus's type tagged by `tag_words` on the one-pass heads
    evaluation = next(entry for entry in log if "eval_mean_f1" in entry)
    assert {"eval_bc5cdr-chem_f1", "eval_bc5cdr-disease_f1"} <= set(evaluation)
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2, losses
    loaded, _, _ = load_vaner(summary["adapter"])  # the adapter keeps the one-pass heads
    assert loaded.config.one_pass and loaded.score.out_features == len(loaded.config.entity_types) * NUM_LABELS


def perturbed_adapter(tiny_backbone, folder, seed: int, **model_args):
    model, _ = build_model(ModelArguments(backbone=str(tiny_backbone), lora_r=4, lora_alpha=8, **model_args), 64)
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.add_(torch.randn_like(parameter))
    return model, save_adapter(model, folder)


def head_of(adapter_dir) -> torch.Tensor:
    from safetensors.torch import load_file

    state = load_file(adapter_dir / ADAPTER_WEIGHTS)
    return next(tensor for name, tensor in state.items() if name.endswith("score.weight"))


def test_one_pass_starts_from_a_per_type_head(tiny_backbone, tmp_path):
    per_type, adapter = perturbed_adapter(tiny_backbone, tmp_path / "per-type", seed=1)
    one_pass, _ = build_model(
        ModelArguments(backbone=str(tiny_backbone), lora_r=4, lora_alpha=8, one_pass=True, init_adapter=str(adapter)),
        64,
    )
    head = per_type.get_base_model().score.modules_to_save["default"].weight
    heads = one_pass.get_base_model().score.modules_to_save["default"].weight
    types = len(one_pass.get_base_model().config.entity_types)
    assert heads.shape == (types * NUM_LABELS, head.shape[1]) and torch.equal(heads, head.repeat(types, 1))
    with pytest.raises(ValueError, match="does not fit"):  # heads make no per-type head
        build_model(ModelArguments(backbone=str(tiny_backbone), lora_r=4, lora_alpha=8,
                                   init_adapter=str(save_adapter(one_pass, tmp_path / "one-pass"))), 64)


def test_a_per_type_vaner_folder_becomes_one_pass(tiny_model_dir):
    per_type, _ = build_vaner_model(str(tiny_model_dir))
    one_pass, _ = build_vaner_model(str(tiny_model_dir), one_pass=True)
    types = len(one_pass.config.entity_types)
    assert one_pass.config.one_pass and torch.equal(one_pass.score.bias, per_type.score.bias.repeat(types))
    assert torch.equal(one_pass.score.weight, per_type.score.weight.repeat(types, 1))
    ids = torch.tensor([[5, 17, 42, 8]])
    with torch.no_grad():  # every head starts as the per-type model's
        assert torch.allclose(one_pass(ids).logits, per_type(ids).logits[:, :, None].expand(-1, -1, types, -1))


def test_averaging_one_pass_adapters(tiny_backbone, tmp_path):
    _, first = perturbed_adapter(tiny_backbone, tmp_path / "one", seed=1, one_pass=True)
    _, second = perturbed_adapter(tiny_backbone, tmp_path / "two", seed=2, one_pass=True)
    average_adapters([first, second], tmp_path / "mean")
    assert torch.allclose(head_of(tmp_path / "mean"), (head_of(first) + head_of(second)) / 2)
    _, per_type = perturbed_adapter(tiny_backbone, tmp_path / "per-type", seed=3)
    with pytest.raises(ValueError, match="adapters differ in form"):
        average_adapters([first, per_type], tmp_path / "bad")
    config = json.loads((per_type / "config.json").read_text())
    (per_type / "config.json").write_text(json.dumps({**config, "one_pass": True, "entity_types": None}))
    (first / "config.json").write_text(json.dumps({**json.loads((first / "config.json").read_text()),
                                                   "entity_types": None}))
    with pytest.raises(ValueError, match=r"score\.(weight|bias) differ in shape"):
        average_adapters([first, per_type], tmp_path / "bad")


def test_card_says_which_form_and_what_a_call_costs():
    from modeling_vaner.configuration_vaner import VanerConfig
    from modeling_vaner.hub_card import render_model_card

    ids = {"model": "org/vaner", "corpora": "org/corpora", "dbr": "org/dbr", "space": "org/space"}
    one_pass = render_model_card(ids, "HuggingFaceTB/SmolLM2-135M", [], None, True, VanerConfig(one_pass=True))
    per_type = render_model_card(ids, "HuggingFaceTB/SmolLM2-135M", [], None, True, VanerConfig())
    assert "one forward per text window tags" in one_pass and "model.config.instruction(None)" in one_pass
    assert "one forward per type per text window" in per_type and "instruction(None)" not in per_type
    # a run record from before `type_only_gold` (vaner-smol 2's), or none: each corpus's own gold
    assert "an average of\n  their styles.\n- Scores" in per_type and "follows one guideline" not in per_type
