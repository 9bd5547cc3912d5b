"""The pipeline: offsets into the original text, windows for long text, batching, bad input."""

import pytest
import torch

from modeling_vaner.pipeline_vaner import (
    LABEL_B,
    LABEL_I,
    LABEL_O,
    assign_words_to_windows,
    build_input,
    decode_bio,
    decode_labels,
    split_into_windows,
    split_sentences,
    split_words,
    viterbi_labels,
)

TRICKY_TEXTS = [
    "Mutations in BRCA1 cause breast cancer in α-synuclein–positive  patients.\tTamoxifen helps.\n\nMice too.",
    "IL-2 (interleukin-2) and TNF-α rose at 37 °C; β-catenin  —  Wnt\r\nsignalling…",
    "one",
    "  leading and trailing spaces  ",
]


def force_label(model, label: int) -> None:
    """Make the head predict `label` for every token, whatever the input."""
    with torch.no_grad():
        model.score.weight.zero_()
        model.score.bias.copy_(torch.tensor([0.0, 0.0, 0.0]))
        model.score.bias[label] = 10.0


def test_split_words_keeps_exact_spans():
    text = "TNF-α  and\tIL-2–R."
    spans = split_words(text)
    assert [text[a:b] for a, b in spans] == ["TNF", "-", "α", "and", "IL", "-", "2", "–", "R", "."]


def test_split_sentences_on_end_marks_and_paragraphs():
    text = "Cells grew. Mice died, e.g. two. 5 more.\n\nnext paragraph"
    spans = split_words(text)
    sentences = [" ".join(text[a:b] for a, b in spans[first:last]) for first, last in split_sentences(text, spans)]
    assert sentences == ["Cells grew .", "Mice died , e . g . two .", "5 more .", "next paragraph"]


def test_windows_cover_every_word_within_budget():
    counts = [1, 3, 2, 2, 1, 4, 1, 1, 2, 3, 1, 1]
    windows = split_into_windows(counts, budget=6)
    assert windows[0][0] == 0 and windows[-1][1] == len(counts)
    assert all(sum(counts[a:b]) <= 6 for a, b in windows)
    assert all(a2 < b1 for (_, b1), (a2, _) in zip(windows, windows[1:]))  # consecutive windows overlap
    owners = assign_words_to_windows(windows, len(counts))
    assert all(windows[o][0] <= word < windows[o][1] for word, o in enumerate(owners))
    assert split_into_windows([1, 2], budget=10) == [(0, 2)]
    assert split_into_windows([9, 1], budget=4) == [(0, 1), (1, 2)]  # an over-long word gets its own window


def test_decode_bio_and_build_input():
    labels = [LABEL_B, LABEL_I, LABEL_O, LABEL_I, LABEL_B, LABEL_B]
    entities = decode_bio(labels, [0.5, 1.0, 1.0, 0.2, 0.4, 0.6])
    assert entities == [(0, 2, 0.75), (3, 4, 0.2), (4, 5, 0.4), (5, 6, 0.6)]
    row = build_input([7, 8], [[10, 11], [12]], word_labels=[LABEL_B, LABEL_O])
    assert row["input_ids"] == [7, 8, 10, 11, 12]
    assert row["first_token_positions"] == [2, 4]
    assert row["labels"] == [-100, -100, LABEL_B, -100, LABEL_O]


def test_viterbi_repairs_a_broken_entity():
    probabilities = torch.tensor([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.2, 0.1, 0.7]])
    assert decode_labels(probabilities, "argmax")[0] == [LABEL_O, LABEL_I, LABEL_I]
    # valid sequences: B I I scores 0.3 * 0.7 * 0.7 = 0.147, better than O B I (0.084) and O O O (0.012)
    labels, scores = decode_labels(probabilities, "viterbi")
    assert labels == [LABEL_B, LABEL_I, LABEL_I] and scores == pytest.approx([0.3, 0.7, 0.7])
    assert viterbi_labels(torch.zeros(0, 3)) == [] and decode_labels(torch.zeros(0, 3), "argmax") == ([], [])


def test_viterbi_finds_the_best_valid_sequence():
    import itertools

    generator = torch.Generator().manual_seed(0)
    for words in range(1, 6):
        probabilities = torch.rand(words, 3, generator=generator).softmax(-1)
        valid = [
            labels
            for labels in itertools.product((LABEL_O, LABEL_B, LABEL_I), repeat=words)
            if all(label != LABEL_I or previous != LABEL_O for previous, label in zip((LABEL_O,) + labels, labels))
        ]
        best = max(valid, key=lambda labels: probabilities[range(words), list(labels)].prod())
        assert viterbi_labels(probabilities) == list(best)


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_offsets_point_into_the_original_text(tiny_pipeline, text):
    force_label(tiny_pipeline.model, LABEL_B)  # every word an entity: every offset gets checked
    entities = tiny_pipeline(text, entity_types=["Gene", "Disease"])
    assert entities, "forced B labels must give entities"
    assert all(text[e["start"] : e["end"]] == e["word"] for e in entities)
    assert [e["start"] for e in entities] == sorted(e["start"] for e in entities)
    assert {e["entity_group"] for e in entities} == {"Gene", "Disease"}  # overlapping types are all reported
    assert len(entities) == 2 * len(split_words(text))


def test_multi_word_entities_and_scores(tiny_pipeline):
    force_label(tiny_pipeline.model, LABEL_I)
    text = "breast cancer. Tumour cells"
    # I everywhere: one entity per sentence, spanning it (Viterbi makes each first word a B).
    entities = tiny_pipeline(text, entity_types="Disease")
    assert [e["word"] for e in entities] == ["breast cancer.", "Tumour cells"]
    assert all(0.4 < e["score"] < 0.7 for e in entities)  # mean of ~0 (the B) and ~1 (the I's)
    tiny_pipeline.decoding = "argmax"
    try:
        entities = tiny_pipeline(text, entity_types="Disease")
    finally:
        tiny_pipeline.decoding = "viterbi"
    assert [e["word"] for e in entities] == ["breast cancer.", "Tumour cells"]
    assert all(0.99 < e["score"] <= 1.0 for e in entities)


def test_text_ten_times_the_window_is_covered_end_to_end(tiny_pipeline):
    model = tiny_pipeline.model
    model.config.max_window_tokens = 64
    force_label(model, LABEL_B)
    sentence = "Tamoxifen and cisplatin were given to patients with Huntington disease and ovarian cancer "
    text = (sentence * 40).strip()  # no sentence breaks: one over-long sentence, windowed
    instruction = len(tiny_pipeline.instruction_ids("Chemical", None))
    tokens = sum(len(tiny_pipeline.tokenizer(" " + w)["input_ids"]) for w in text.split())
    assert tokens > 10 * (64 - instruction)
    entities = tiny_pipeline(text, entity_types=["Chemical"])
    words = split_words(text)
    assert [(e["start"], e["end"]) for e in entities] == words  # every word, each exactly once, in order
    assert all(text[e["start"] : e["end"]] == e["word"] for e in entities)


def test_batched_list_equals_one_by_one(tiny_pipeline):
    texts = ["Mutations in BRCA1 cause breast cancer.", "Mice and rats.", "", "Cisplatin."]
    batched = tiny_pipeline(texts, batch_size=3)
    one_by_one = [tiny_pipeline(text, batch_size=1) for text in texts]
    assert len(batched) == len(texts) and batched[2] == []
    for got, expected in zip(batched, one_by_one):
        assert [(e["start"], e["end"], e["entity_group"]) for e in got] == [
            (e["start"], e["end"], e["entity_group"]) for e in expected
        ]
        assert all(abs(a["score"] - b["score"]) < 1e-4 for a, b in zip(got, expected))


def test_tag_words_gives_one_label_per_word(tiny_pipeline):
    tiny_pipeline.model.config.max_window_tokens = 80
    sentences = [["BRCA1", "is", "a", "gene"], [], ["x"] * 300]
    labels = tiny_pipeline.tag_words(sentences, "Gene", dataset="bc2gm")
    assert [len(s) for s in labels] == [4, 0, 300]
    assert all(label in (LABEL_O, LABEL_B, LABEL_I) for sentence in labels for label in sentence)
    probabilities = tiny_pipeline.word_probabilities(sentences, "Gene", dataset="bc2gm")
    assert [tuple(p.shape) for p in probabilities] == [(4, 3), (0, 3), (300, 3)]
    assert torch.allclose(probabilities[2].sum(-1), torch.ones(300), atol=1e-5)
    assert labels == [viterbi_labels(p) for p in probabilities]


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_and_blank_text_give_no_entities(tiny_pipeline, text):
    assert tiny_pipeline(text) == []


@pytest.mark.parametrize("bad_type", ["", "  ", 3, None])
def test_bad_entity_type_is_named(tiny_pipeline, bad_type):
    with pytest.raises(ValueError, match="entity type must be a non-empty string"):
        tiny_pipeline("Mice.", entity_types=["Gene", bad_type])


def test_other_bad_arguments(tiny_pipeline):
    tiny_pipeline.model.config.max_window_tokens = 10
    with pytest.raises(ValueError, match="leaves no room for words after the instruction"):
        tiny_pipeline("Mice.")
    tiny_pipeline.model.config.max_window_tokens = 256
    with pytest.raises(ValueError, match="entity_types is empty"):
        tiny_pipeline("Mice.", entity_types=[])
    with pytest.raises(ValueError, match="unknown dataset 'pubmed'"):
        tiny_pipeline("Mice.", dataset="pubmed")
    with pytest.raises(TypeError, match="text must be a string"):
        tiny_pipeline(["Mice.", 42])
    with pytest.raises(TypeError, match="unexpected arguments: aggregation_strategy"):
        tiny_pipeline("Mice.", aggregation_strategy="simple")


def test_free_text_types_and_dataset_instruction(tiny_pipeline):
    assert isinstance(tiny_pipeline("Mice eat cheese.", entity_types=["Cell line"]), list)
    assert isinstance(tiny_pipeline("Mice eat cheese.", entity_types=["Species"], dataset="s800"), list)


def test_compiled_forward_tags_like_eager(tiny_vaner):
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    model, tokenizer = tiny_vaner
    texts = ["Mutations in BRCA1 cause breast cancer.", "Aspirin", "x " * 150]
    eager = VanerTokenClassificationPipeline(model=model, tokenizer=tokenizer, task="token-classification")
    compiled = VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", compile=True
    )
    assert compiled.forward_model is not model
    for batch_size in (1, 3):  # a batch of one and wider batches, of several widths: one dynamic graph serves all
        expected = eager(texts, batch_size=batch_size)
        actual = compiled(texts, batch_size=batch_size)
        assert [[(e["start"], e["end"], e["entity_group"]) for e in text] for text in actual] == [
            [(e["start"], e["end"], e["entity_group"]) for e in text] for text in expected
        ]
        scores = [(a["score"], e["score"]) for text_a, text_e in zip(actual, expected) for a, e in zip(text_a, text_e)]
        assert max(abs(a - e) for a, e in scores) < 2e-3  # bf16 autocast on a bf16 CPU: fused vs unfused rounding


def test_bf16_counts_as_supported_only_where_the_cpu_computes_it_natively():
    """oneDNN runs bf16 on any AVX-512 CPU, emulated and slower than fp32 without AVX512_BF16 or AMX: "auto"
    precision must pick bf16 only with those instruction sets (the processor's own flags decide here)."""
    from pathlib import Path

    from modeling_vaner.loading import resolve_precision
    from modeling_vaner.pipeline_vaner import bf16_supported

    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo to read the processor's flags from")
    flags = set(next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")).split())
    native = bool(flags & {"avx512_bf16", "amx_bf16"})
    assert bf16_supported(torch.device("cpu")) == native
    assert resolve_precision("auto", "cpu") == ("bf16" if native else "fp32")
