"""The pipeline: offsets into the original text, windows for long text, batching, bad input."""

import pytest
import torch

from modeling_vaner.decoding_vaner import decode_labels, viterbi_labels
from modeling_vaner.processing_vaner import (
    LABEL_B,
    LABEL_I,
    LABEL_O,
    assign_words_to_windows,
    build_input,
    entity_spans,
    spans_to_labels,
    split_into_windows,
)
from modeling_vaner.text_vaner import BREAK_RULES, split_words, word_strings

from probability_checks import assert_int8_stays_near, compare_word_probabilities

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


def test_entity_spans_and_build_input():
    labels = [LABEL_B, LABEL_I, LABEL_O, LABEL_I, LABEL_B, LABEL_B]
    assert entity_spans(labels) == [(0, 2), (3, 4), (4, 5), (5, 6)]
    assert spans_to_labels(entity_spans(labels), 6) == [LABEL_B, LABEL_I, LABEL_O, LABEL_B, LABEL_B, LABEL_B]
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
    # one entity per word and type, except punctuation alone: a span needs a word character (`tidy_spans`)
    assert len(entities) == 2 * sum(any(c.isalnum() for c in text[a:b]) for a, b in split_words(text))


def test_multi_word_entities_and_scores(tiny_pipeline):
    force_label(tiny_pipeline.model, LABEL_I)
    text = "breast cancer. Tumour cells"
    # I everywhere: one entity per sentence, spanning it (Viterbi makes each first word a B).
    entities = tiny_pipeline(text, entity_types="Disease")
    assert [e["word"] for e in entities] == ["breast cancer.", "Tumour cells"]
    assert all(0.4 < e["score"] < 0.7 for e in entities)  # mean of ~0 (the B) and ~1 (the I's)
    entities = tiny_pipeline(text, entity_types="Disease", decoding="argmax")
    assert [e["word"] for e in entities] == ["breast cancer.", "Tumour cells"]
    assert all(0.99 < e["score"] <= 1.0 for e in entities)
    # text the caller already split into sentences is read whole: here, one entity across the period
    assert [e["word"] for e in tiny_pipeline(text, entity_types="Disease", sentence_split=False)] == [text]


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
    with pytest.raises(TypeError, match="unexpected arguments: colour"):
        tiny_pipeline("Mice.", colour="red")
    with pytest.raises(ValueError, match="aggregation_strategy must be one of"):
        tiny_pipeline("Mice.", aggregation_strategy="mean")
    with pytest.raises(ValueError, match="threshold must be a number from 0 to 1"):
        tiny_pipeline("Mice.", threshold=2)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        tiny_pipeline(iter(["Mice."]), chunk_size=0)
    with pytest.raises(TypeError, match="inputs must be a string"):
        tiny_pipeline(42)


def test_free_text_types_and_dataset_reach_the_instruction(tiny_pipeline):
    from modeling_vaner.processing_vaner import encode_instruction

    def instructions(**kwargs) -> list[list[int]]:
        rows = tiny_pipeline.preprocess("Mice eat cheese.", tiny_pipeline.call_options(**kwargs))["rows"]
        return [row.input_ids[: row.first_token_positions[0]] for row in rows]

    def encoded(entity_type, dataset=None) -> list[int]:
        return encode_instruction(tiny_pipeline.tokenizer, tiny_pipeline.model.config.instruction(entity_type, dataset))

    assert instructions(entity_types=["Cell line"]) == [encoded("Cell line")]
    assert instructions(entity_types=["Species", "Gene"], dataset="s800") == [
        encoded("Species", "s800"), encoded("Gene", "s800")
    ]
    assert "s800" in tiny_pipeline.model.config.instruction("Species", "s800")
    assert instructions() == [encoded(t) for t in tiny_pipeline.model.config.entity_types]  # all types, type-only


def test_compiled_forward_tags_like_eager(tiny_vaner):
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    model, tokenizer = tiny_vaner
    texts = ["Mutations in BRCA1 cause breast cancer.", "Aspirin", "x " * 150]
    eager = VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", precision="fp32"
    )
    compiled = VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", precision="fp32", compile=True
    )
    assert compiled.forward_model is not model
    for batch_size in (1, 3):  # a batch of one and wider batches, of several widths: one dynamic graph serves all
        expected = eager(texts, batch_size=batch_size)
        actual = compiled(texts, batch_size=batch_size)
        assert [[(e["start"], e["end"], e["entity_group"]) for e in text] for text in actual] == [
            [(e["start"], e["end"], e["entity_group"]) for e in text] for text in expected
        ]
        scores = [(a["score"], e["score"]) for text_a, text_e in zip(actual, expected) for a, e in zip(text_a, text_e)]
        assert max(abs(a - e) for a, e in scores) < 1e-4  # fp32: fused vs unfused rounding only


def test_bf16_counts_as_supported_only_where_the_cpu_computes_it_natively(monkeypatch):
    """oneDNN runs bf16 on any AVX-512 CPU, emulated and slower than fp32 without AVX512_BF16 or AMX: "auto"
    precision must pick bf16 only with those instruction sets (the processor's own flags decide here)."""
    from pathlib import Path

    from modeling_vaner.runtime_vaner import native_bf16, resolve_precision

    monkeypatch.delenv("VANER_PRECISION", raising=False)
    cpu = torch.device("cpu")
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo to read the processor's flags from")
    flags = set(next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")).split())
    native = bool(flags & {"avx512_bf16", "amx_bf16"})
    assert native_bf16(cpu) == native
    assert resolve_precision("auto", cpu).name == ("bf16" if native else "fp32")


def test_precision_auto_can_be_forced_and_missing_cpu_probes_mean_fp32(monkeypatch):
    from modeling_vaner.runtime_vaner import native_bf16, resolve_precision

    cpu = torch.device("cpu")
    for forced in ("bf16", "fp32"):
        monkeypatch.setenv("VANER_PRECISION", forced)
        assert resolve_precision("auto", cpu) == (
            forced, getattr(torch, {"bf16": "bfloat16", "fp32": "float32"}[forced]), forced == "bf16"
        )
        assert resolve_precision("fp32", cpu).name == "fp32"  # an explicit precision wins
    monkeypatch.setenv("VANER_PRECISION", "fp16")
    with pytest.raises(ValueError, match=r"\$VANER_PRECISION must be bf16 or fp32, got 'fp16'"):
        resolve_precision("auto", cpu)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")  # a torch that renamed its private probe
    with pytest.warns(UserWarning, match="precision 'auto' runs fp32"):
        assert native_bf16(cpu) is False


PDF_TEXT = (
    "In the \u2018control\u2019 arm, serum TNF-\u03b1 fell\u200c after infliximab \u2665\ufe0f\u2665\ufe0f; "
    "Me\u0301nie\u0300re\u2019s disease did not change."
)


def test_no_entity_starts_or_ends_inside_a_word_with_combining_marks(tiny_pipeline):
    force_label(tiny_pipeline.model, LABEL_B)  # every word an entity: every word boundary is checked
    entities = tiny_pipeline(PDF_TEXT, entity_types=["Disease"])
    words = [PDF_TEXT[a:b] for a, b in split_words(PDF_TEXT)]
    assert [e["word"] for e in entities] == [word for word in words if any(c.isalnum() for c in word)]
    assert "Me\u0301nie\u0300re" in words and "Me" not in words
    assert all(PDF_TEXT[e["start"] : e["end"]] == e["word"] for e in entities)


def test_embedded_model_finds_menieres_disease_in_pdf_text():
    """vaner-smol in fp32 (stated: a model-quality check that must not move with the CPU)."""
    from modeling_vaner.loading import load_pipeline

    entities = load_pipeline(precision="fp32")(PDF_TEXT)
    found = [(e["word"], e["entity_group"]) for e in entities]
    assert ("Me\u0301nie\u0300re\u2019s disease", "Disease") in found
    assert not any(word.startswith("Me") and word != "Me\u0301nie\u0300re\u2019s disease" for word, _ in found)
    assert all(PDF_TEXT[e["start"] : e["end"]] == e["word"] for e in entities)


def test_bf16_pipeline_is_batch_invariant():
    """The real vaner-smol pipeline in bf16 (native on AMX/AVX512_BF16 CPUs, emulated elsewhere): a text alone and
    inside a batch of texts of other lengths (other padding) gives the same spans and types wherever every word's
    label margin (best minus second-best probability) is above 0.05, and scores within 0.01."""
    from modeling_vaner.loading import load_pipeline

    tagger = load_pipeline(precision="bf16")
    assert tagger.model.dtype == torch.bfloat16
    text = "Mutations in BRCA1 and BRCA2 raise the risk of breast and ovarian cancer; tamoxifen lowers it in mice."
    others = [
        "Aspirin.",
        "Cisplatin caused nephrotoxicity in rats. " * 6,
        "Escherichia coli and Saccharomyces cerevisiae expressed the TP53 gene in patients with Huntington disease.",
    ]
    alone = tagger(text, batch_size=1)
    batched = tagger([others[0], text, others[1], others[2]], batch_size=4)[1]
    spans = split_words(text)
    words = [text[a:b] for a, b in spans]
    compared = 0
    for entity_type in tagger.model.config.entity_types:
        probabilities = tagger.word_probabilities([words], entity_type, batch_size=1)[0]
        top = probabilities.topk(2, dim=-1).values
        uncertain = {index for index, margin in enumerate((top[:, 0] - top[:, 1]).tolist()) if margin <= 0.05}

        def confident(entities):
            kept = {}
            for e in entities:
                if e["entity_group"] != entity_type:
                    continue
                first = next(i for i, (a, _) in enumerate(spans) if a == e["start"])
                last = next(i for i, (_, b) in enumerate(spans) if b == e["end"])
                if not uncertain & set(range(first - 1, last + 2)):  # its words and the words that bound it
                    kept[(e["start"], e["end"])] = e["score"]
            return kept

        expected, actual = confident(alone), confident(batched)
        assert expected.keys() == actual.keys(), entity_type
        assert all(abs(expected[key] - actual[key]) < 0.01 for key in expected)
        compared += len(expected)
    assert compared >= 4  # the gene, disease, chemical and species mentions are all confident


def test_spans_keep_brackets_whole_and_no_edge_comma_or_hyphen():
    from modeling_vaner.processing_vaner import tidy_spans
    from modeling_vaner.text_vaner import word_strings

    words = word_strings("the chloramphenicol acetyltransferase (CAT) gene of the IL-2 promoter (-206 to -195).")
    broken = [(1, 4), (4, 7), (12, 14)]  # "chloramphenicol acetyltransferase (", "CAT ) gene", "promoter ("
    assert tidy_spans(words, broken) == []  # the rule chosen on dev: a span with a broken bracket is dropped
    assert tidy_spans(words, broken, brackets="split") == [(1, 3), (4, 5), (6, 7), (12, 13)]
    assert tidy_spans(words, broken, brackets="extend") == [(1, 7), (12, 20)]
    assert tidy_spans(words, [(1, 7)]) == [(1, 7)]  # balanced brackets stay
    words = word_strings("Per-Arnt-Sim (PAS) domain , and -KR-")
    assert [" ".join(words[a:b]) for a, b in tidy_spans(words, [(0, 4), (4, 6), (9, 11), (11, 14)])] == [
        "Per - Arnt", "and", "KR"  # "Sim (" dropped, edge hyphens and comma trimmed
    ]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_embedded_model_returns_no_broken_bracket_spans(precision):
    from modeling_vaner.loading import load_pipeline

    tagger = load_pipeline(precision=precision)
    for text in [
        "The reporter carried the chloramphenicol acetyltransferase (CAT) gene under the control of the IL-2 "
        "promoter (-206 to -195).",
        "Mutations in the Per-Arnt-Sim (PAS) domain and the ketoreductase (KR) domain abolished activity.",
    ]:
        for entity in tagger(text):
            word = entity["word"]
            assert word.count("(") == word.count(")"), entity
            assert not word.startswith((")", ",", "-")) and not word.endswith(("(", ",", "-")), entity


def test_int8_word_probabilities_stay_near_fp32():
    """vaner-smol with int8 linear layers (torchao, dynamic activations) against fp32 (both stated): over every word
    and type of a few abstracts' sentences the O/B/I probabilities differ by at most 0.01 on average, at most 2% of
    the words by more than 0.1, and at least 99% of the words whose fp32 label is clear (margin above 0.2) keep it.
    vaner-smol 2 on 80 NCBI-disease dev sentences: mean 0.0012, largest 0.39, 99.8% of labels unchanged; vaner-smol
    3's shipped step 15,500 on these sentences (AVX512_BF16 CPU): mean 0.0010, no word of 290 moved by more than 0.1,
    none flipped. Earlier steps moved up to three and flipped one, "women" as Species: person words are the
    guideline's borderline case (each step's figures: docs/RESULTS.md, int8)."""
    from modeling_vaner.loading import load_pipeline

    reference = load_pipeline(precision="fp32")
    quantized = load_pipeline(precision="int8")
    layers = dict(quantized.model.named_modules())
    assert type(layers["model.layers.0.mlp.down_proj"].weight).__name__ == "Int8Tensor"
    assert type(layers["score"].weight) is torch.nn.Parameter and layers["score"].weight.dtype == torch.float32
    sentences = [
        word_strings("Mutations in BRCA1 and BRCA2 raise the risk of breast and ovarian cancer in women."),
        word_strings("Tamoxifen and cisplatin were given to mice infected with Escherichia coli."),
        word_strings("Interleukin-2 receptor alpha expression in human T cells requires NF-kappa B."),
        word_strings("Patients with Huntington disease showed reduced levels of brain-derived neurotrophic factor."),
    ]
    differences, kept, clear = compare_word_probabilities(
        reference, quantized, sentences, reference.model.config.entity_types, margin=0.2
    )
    assert_int8_stays_near(differences, kept, clear)


# ---- text as it comes: markup, tables, line breaks (text_vaner.split_raw_words) --------------------------
LAYOUT_TEXTS = [
    'Mutations in <span class="gene">BRCA1</span> gene<br/>cause <i>breast cancer</i>.<!-- note --> &beta;-catenin',
    "Gene\tDisease\nCFTR\tcystic fibrosis\nhuman\nCFTR\r\nBRCA2\tbreast cancer",
    "Mus muscu-\nlus and hydroxy-\nchloroquine, IL-\n2 and TNF -\nalpha in mice-\n\nrats",
]


def test_an_entity_across_a_break_is_cut_dropped_or_decoded_apart():
    from modeling_vaner.decoding_vaner import decode_entities

    words = ["human", "CFTR", "gene"]
    probabilities = torch.tensor([[0.1, 0.8, 0.1], [0.1, 0.3, 0.6], [0.1, 0.1, 0.8]])  # B I I: one entity
    assert [span[:2] for span in decode_entities(probabilities, words, "viterbi")] == [(0, 3)]
    assert [span[:2] for span in decode_entities(probabilities, words, "viterbi", [1], "cut")] == [(0, 1), (1, 3)]
    assert decode_entities(probabilities, words, "viterbi", [1], "drop") == []
    assert [span[:2] for span in decode_entities(probabilities, words, "viterbi", [1], "decode")] == [(0, 1), (1, 3)]
    assert [span[:2] for span in decode_entities(probabilities, words, "argmax", [2], "decode")] == [(0, 2), (2, 3)]
    # a break made by markup alone is decoded apart, whatever the rule for tabs and line breaks
    assert [span[:2] for span in decode_entities(probabilities, words, "viterbi", [1], "drop", [1])] == [(0, 1), (1, 3)]


@pytest.mark.parametrize("break_rule", BREAK_RULES)
@pytest.mark.parametrize("label", [LABEL_B, LABEL_I])
@pytest.mark.parametrize("text", LAYOUT_TEXTS)
def test_no_entity_holds_markup_or_crosses_a_tab_or_line_break(tiny_pipeline, text, label, break_rule):
    import re

    force_label(tiny_pipeline.model, label)  # B: every word an entity; I: each sentence one entity, if nothing cut
    tiny_pipeline.break_rule = break_rule
    entities = tiny_pipeline(text, entity_types=["Gene"])
    assert entities or (break_rule == "drop" and label == LABEL_I)
    assert all(text[e["start"] : e["end"]] == e["word"] for e in entities)
    tags = [match.span() for match in re.finditer(r"<[^<>]*>", text)]  # these texts hold no "<" but in tags
    for entity in entities:
        word = entity["word"]
        assert not any(entity["start"] < end and start < entity["end"] for start, end in tags), entity
        assert "\t" not in word, entity
        # a line break only inside a word hyphenated at the line end ("muscu-\nlus", not "TNF -\nalpha")
        assert all(re.search(r"\w-$", line) for line in word.splitlines()[:-1]), entity


def test_tables_and_hyphenated_line_ends_give_the_entities_a_reader_sees(tiny_pipeline):
    force_label(tiny_pipeline.model, LABEL_I)  # one entity as long as nothing cuts it
    with torch.no_grad():
        tiny_pipeline.model.score.bias[LABEL_B] = 1.0  # where an I may not be, a B (not an O)
    # the rule chosen on dev: an entity across a cell or a line is dropped, never returned across it
    assert tiny_pipeline("Gene\tDisease", entity_types="Disease") == []
    assert tiny_pipeline("human\nCFTR", entity_types="Gene") == []
    assert [e["word"] for e in tiny_pipeline("Mus muscu-\nlus", entity_types="Species")] == ["Mus muscu-\nlus"]
    text = 'Mutations in <span class="gene">BRCA1</span> gene'  # where an element ends, an entity may end
    assert [e["word"] for e in tiny_pipeline(text, entity_types="Gene")] == ["Mutations in", "BRCA1", "gene"]
    tiny_pipeline.break_rule = "cut"
    text = "Gene\tDisease\nhuman\nCFTR gene Mus muscu-\nlus"
    assert [e["word"] for e in tiny_pipeline(text, entity_types="Species")] == [
        "Gene", "Disease", "human", "CFTR gene Mus muscu-\nlus"
    ]
    item = tiny_pipeline.preprocess("Mus muscu-\nlus in <i>mice</i>")
    assert item["words"] == ["Mus", "musculus", "in", "mice"]  # what the model reads: no tag, no broken word
