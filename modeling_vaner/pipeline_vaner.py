"""VANER token-classification pipeline: biomedical entities with character offsets, types and scores.

Self-contained (transformers and torch, plus its sibling `processing_vaner.py` for words, sentences, windows and
IOB2 spans) so that it can be copied to a Hub repository as it is.
"""

import ctypes
import functools
import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass

import torch
from transformers import Pipeline
from transformers.modeling_outputs import TokenClassifierOutput

from .processing_vaner import (
    DECODINGS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHUNK_SIZE,
    IOB2_LABELS,
    LABEL_B,
    LABEL_I,
    LABEL_O,
    NUM_LABELS,
    PADDINGS,
    PRECISIONS,
    assign_words_to_windows,
    build_input,
    encode_instruction,
    encode_words,
    entity_spans,
    prepare_tokenizer,
    spans_to_labels,
    split_into_windows,
    split_sentences,
    split_words,
    tidy_spans,
)

# In IOB2 an I continues an entity: it never follows an O nor starts a sentence.
VALID_PREVIOUS_LABELS = {
    LABEL_O: (LABEL_O, LABEL_B, LABEL_I),
    LABEL_B: (LABEL_O, LABEL_B, LABEL_I),
    LABEL_I: (LABEL_B, LABEL_I),
}


def viterbi_labels(probabilities: torch.Tensor) -> list[int]:
    """The most probable word labels (words x [O, B, I] probabilities) among valid IOB2 sequences. The labels are
    scored word by word, so the per-word argmax can break an entity ("O I I", "B O I"); choosing the best valid
    sequence repairs those fragments. Plain Python: 3 labels per word is too small for tensor ops to pay."""
    log_probabilities = probabilities.float().clamp_min(1e-12).log().tolist()
    if not log_probabilities:
        return []
    labels = range(NUM_LABELS)
    score = list(log_probabilities[0])
    score[LABEL_I] = -math.inf
    back_pointers = []
    for word in log_probabilities[1:]:
        previous = [max(VALID_PREVIOUS_LABELS[label], key=score.__getitem__) for label in labels]
        score = [score[previous[label]] + word[label] for label in labels]
        back_pointers.append(previous)
    path = [max(labels, key=score.__getitem__)]
    for previous in reversed(back_pointers):
        path.append(previous[path[-1]])
    return path[::-1]


def decode_labels(probabilities: torch.Tensor, decoding: str) -> tuple[list[int], list[float]]:
    """Word labels and each word's probability of its label, by `decoding`: "viterbi" (valid IOB2, the default)
    or "argmax" (each word on its own)."""
    if decoding == "viterbi":
        labels = viterbi_labels(probabilities)
    else:
        labels = probabilities.argmax(-1).tolist() if len(probabilities) else []
    scores = [float(probabilities[index, label]) for index, label in enumerate(labels)]
    return labels, scores


def pad_sequences(sequences: list[list[int]], pad_value: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad sequences to the longest (the pipeline's batches and the training collator alike).

    Args:
        sequences: `batch` lists of ints (token ids or labels), at least one.
        pad_value: the value after each sequence's end.

    Returns:
        `(padded, mask)`: two long tensors of shape (batch, longest); `mask` is 1 on the sequences' own positions.
    """
    width = max(len(sequence) for sequence in sequences)
    padded = torch.full((len(sequences), width), pad_value, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for index, sequence in enumerate(sequences):
        padded[index, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        mask[index, : len(sequence)] = 1
    return padded, mask


# ---------------------------------------------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------------------------------------------
# Forces what precision "auto" means, whatever the hardware: "bf16" or "fp32" (e.g. to run a test suite in bf16 on a
# CPU that only emulates it).
PRECISION_ENV = "VANER_PRECISION"
# torch's CPU feature probes are private: a torch that renames them must not break every Hub user at construction.
CPU_BF16_PROBES = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")


def check_precision(precision: str) -> str:
    """`precision` itself if it is one of `PRECISIONS`.

    Raises:
        ValueError: another value.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def bf16_supported(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively. On CPU that takes AVX512_BF16 or AMX: oneDNN also runs bf16 on plain
    AVX-512 (`_is_mkldnn_bf16_supported` is true there), but emulated, several times slower than fp32. Where this
    torch lacks the probes, False (fp32) with a warning."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    probes = [getattr(torch.cpu, name, None) for name in CPU_BF16_PROBES]
    if None in probes:
        warnings.warn(f"this torch has no {' / '.join(CPU_BF16_PROBES)}: precision 'auto' runs fp32", stacklevel=2)
        return False
    return any(probe() for probe in probes)


def resolve_precision(precision: str, device: torch.device) -> str:
    """"bf16", "fp32" or "int8": `precision` itself, or for "auto" the value of `$VANER_PRECISION` when set, else
    "bf16" where `device` computes bf16 natively (AMX/AVX512-BF16 CPUs, recent GPUs), else "fp32".

    Raises:
        ValueError: `precision` or `$VANER_PRECISION` is not a known precision.
    """
    if check_precision(precision) != "auto":
        return precision
    forced = os.environ.get(PRECISION_ENV)
    if forced:
        if forced not in ("bf16", "fp32"):
            raise ValueError(f"${PRECISION_ENV} must be bf16 or fp32, got {forced!r}")
        return forced
    return "bf16" if bf16_supported(device) else "fp32"


def use_bf16_autocast(precision: str, device: torch.device, model_dtype: torch.dtype) -> bool:
    """Whether to run the forward under bf16 autocast: "bf16" always; "auto" for fp32 weights where it resolves to
    bf16 (see `resolve_precision`); "fp32" and "int8" never (the model runs in the dtype it was loaded in)."""
    if check_precision(precision) == "auto":
        return model_dtype == torch.float32 and resolve_precision(precision, device) == "bf16"
    return precision == "bf16"


@functools.cache
def _malloc_trim():
    """glibc's `malloc_trim`, or None where the C library has none (macOS, Windows, musl)."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc's `malloc_trim(0)`; nothing where there is none).
    Batches of ever new shapes leave freed blocks that glibc keeps for reuse but rarely can reuse: without this, a
    streamed collection's resident memory grew with its length (bf16 on an AMX CPU, one BC2GM sentence per
    document: +193 MB from 256 to 2,560 documents; with this after each chunk, flat)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def quantize_int8(model) -> None:
    """Quantize the linear layers of `model`'s backbone in place to int8 weights (per output channel) with int8
    activations quantized per token at run time (torchao's `Int8DynamicActivationInt8WeightConfig`); the
    classification head keeps its dtype. A model already quantized is left as it is.

    Raises:
        ImportError: torchao is not installed.
    """
    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8Tensor, quantize_
    except ImportError as error:
        raise ImportError("precision 'int8' needs torchao: pip install torchao==0.18.0") from error
    linear_layers = [module for module in model.base_model.modules() if isinstance(module, torch.nn.Linear)]
    if not any(isinstance(layer.weight, Int8Tensor) for layer in linear_layers):
        quantize_(model.base_model, Int8DynamicActivationInt8WeightConfig())


# The config fields an exported ONNX file must share with the model that runs it (with its head's weights)
ONNX_CONFIG_FIELDS = ("model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_labels", "entity_types")


def model_fingerprint(model) -> dict:
    """What ties an ONNX file to the model it was exported from (stored in the file, checked when it is loaded):
    the config's `ONNX_CONFIG_FIELDS` and a SHA-256 of the classification head's weights in fp32, which tells
    apart two adapters of one backbone (same config, other weights)."""
    head = model.score.weight.detach().float().cpu().contiguous().numpy().tobytes()
    fields = {name: getattr(model.config, name, None) for name in ONNX_CONFIG_FIELDS}
    return json.loads(json.dumps({**fields, "head_sha256": hashlib.sha256(head).hexdigest()}))


class OnnxRuntimeForward:
    """A file written by `vaner export-onnx`, run on the CPU by ONNX Runtime and called like the torch model:
    `forward(input_ids=..., attention_mask=...)` (batch, tokens) returns an object whose `logits` is a float32
    (batch, tokens, labels) tensor.

    Raises:
        ImportError: onnxruntime is not installed.
        FileNotFoundError: no file at `path`.
        ValueError: not a file ONNX Runtime can load, or exported from another model than `model`.
    """

    def __init__(self, path, model):
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError('an ONNX model needs onnxruntime: pip install "vaner[onnx]"') from error
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such ONNX file: {path}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # torch's setting (OMP_NUM_THREADS) rules both
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's own exception types (InvalidProtobuf, Fail...)
            raise ValueError(f"{path}: ONNX Runtime cannot load it: {error}") from error
        exported = json.loads(self.session.get_modelmeta().custom_metadata_map.get("vaner_model", "{}"))
        expected = model_fingerprint(model)
        differing = sorted(key for key in expected.keys() | exported.keys() if exported.get(key) != expected.get(key))
        if differing:
            raise ValueError(
                f"{path} was not exported from this model (they differ in {', '.join(differing)}): "
                "export it with `vaner export-onnx` and the same --model"
            )

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        feeds = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        return TokenClassifierOutput(logits=torch.from_numpy(self.session.run(["logits"], feeds)[0]))


@dataclass
class _Row:
    """One model input: one window of one sentence of one text, asked for one entity type."""

    text_index: int
    type_index: int
    window_index: int  # index into the text's list of windows
    input_ids: list[int]
    first_token_positions: list[int]


@dataclass
class _Window:
    first_word: int  # index into the text's words
    last_word: int  # exclusive
    owned_words: list[int]  # the words whose labels this window decides


# How `aggregation_strategy` groups a model that labels words (each word is read at its first token): "none" gives
# one dict per (word, entity type) labelled B or I; the others group words into entities, and they coincide here
# because there are no sub-word scores to combine. Accepted so that code written for BERT pipelines runs as it is.
AGGREGATION_STRATEGIES = ("simple", "first", "average", "max", "none")


class VanerTokenClassificationPipeline(Pipeline):
    """`pipeline("token-classification", model=..., trust_remote_code=True)` for VANER models.

    Fixed at construction: `precision` "auto" (default: bf16 autocast where the hardware supports it), "bf16",
    "fp32" or "int8" (the backbone's linear layers quantized in place, see `quantize_int8`; needs torchao);
    `onnx_model`: a file written by `vaner export-onnx` from this model (fp32, or its int8 linear layers, the
    fastest on CPUs: see `benchmarks/results/`), run by ONNX Runtime on the CPU instead of the torch forward;
    `compile=True` for bulk tagging: the forward is compiled by `torch.compile` (dynamic shapes, so batches
    of any size and width reuse one graph); it costs minutes once (259 s on a 2-core CPU), then the forward runs
    about 1.3x faster there (`benchmarks/speed.py`); `padding="visible"` reproduces the authors' released
    inference for a converted release (`vaner convert-release`): rows left-padded to `config.max_window_tokens`
    with the unknown token and padding attended like text; the default, "masked", lets no token see padding, so
    a text's entities do not depend on its batch.

    Given at construction as defaults, or at call time to override them:
    - `entity_types`: the types to tag (default: all the model's types; any non-empty string is allowed, the
      instruction is free text);
    - `dataset`: a known corpus name, for the instruction with the dataset name (default None: the type-only
      instruction);
    - `decoding`: "viterbi" (default: the most probable valid IOB2 label sequence per sentence) or "argmax" (each
      word's most probable label);
    - `threshold`: entities (words, for "none") scoring below it are left out (default 0: all are kept);
    - `aggregation_strategy`: "simple" (default), "first", "average" and "max" all return entities; VANER labels
      words (each read at its first token), not sub-word tokens, so the four coincide. "none" returns one dict per
      (word, entity type) whose label is not O: `{"entity": "B-Disease", "score", "index", "word", "start",
      "end"}`, `index` being the word's index in the text and `score` its probability of that label;
    - `batch_size` (rows of one window and one type per forward, default 8), `chunk_size` (texts per chunk of a
      streamed input, default 256) and `sentence_split=False` when each input is already one sentence (entities
      never cross a sentence: by default the pipeline finds sentence ends itself).

    Inputs: a string gives one list of entities; a list or tuple of strings a list of lists. Any other iterable (a
    generator, a `KeyDataset`, a `datasets.Dataset` with a "text" column) gives an iterator of lists, in input
    order, computed chunk by chunk (rows batched by length within a chunk), so memory does not grow with the
    collection.

    Each entity is `{"entity_group", "score", "word", "start", "end"}` with `text[start:end] == word`, sorted by
    start; `score` is the mean of its words' label probabilities; entities of different types may overlap. Text
    longer than the model window is split into sentences, then into overlapping windows, and the predictions are
    merged: nothing is truncated.
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True

    def __init__(
        self,
        *args,
        precision: str = "auto",
        compile: bool = False,
        padding: str = "masked",
        onnx_model=None,
        **kwargs,
    ):
        """`precision`, `compile`, `padding` and `onnx_model` as in the class docstring; the call arguments (see the
        class docstring) as defaults for every call; the rest as `Pipeline`.

        Raises:
            ValueError: an unknown padding or precision, a bad call argument, `onnx_model` with `compile`, a
                precision other than "auto" or "fp32", or a device other than the CPU, or a file exported from
                another model.
            TypeError: an argument this pipeline does not take.
        """
        super().__init__(*args, **kwargs)
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        self.padding = padding
        prepare_tokenizer(self.tokenizer)
        self._instruction_cache = {}
        if onnx_model is not None:
            conflicts = [
                *(["compile"] if compile else []),
                *([f"precision {precision!r}"] if check_precision(precision) not in ("auto", "fp32") else []),
                *([f"device {self.device.type!r}"] if self.device.type != "cpu" else []),
            ]
            if conflicts:
                conflicting = ", ".join(conflicts)
                raise ValueError(
                    f"an ONNX model runs on the CPU in the precision it was exported in, not with {conflicting}"
                )
            self.autocast_bf16 = False
            self.forward_model = OnnxRuntimeForward(onnx_model, self.model)
        else:
            self.autocast_bf16 = use_bf16_autocast(precision, self.device, self.model.dtype)
            if precision == "int8":
                quantize_int8(self.model)
            # the elementwise ops (RMSNorm, RoPE, SiLU) cost as much as the matmuls at this model size: fusing pays
            self.forward_model = torch.compile(self.model, dynamic=True) if compile else self.model
        self.check_entity_types(self._preprocess_params.get("entity_types"))
        self.check_dataset(self._preprocess_params.get("dataset"))

    # --- the steps, each usable on its own ------------------------------------------------------------------
    def _sanitize_parameters(
        self,
        entity_types=None,
        dataset=None,
        batch_size=None,
        sentence_split=None,
        decoding=None,
        threshold=None,
        aggregation_strategy=None,
        chunk_size=None,
        **kwargs,
    ):
        """The given call arguments, checked, as the first of transformers' three parameter dicts (this pipeline
        runs its steps itself, across texts).

        Raises:
            TypeError: an argument this pipeline does not take.
            ValueError: a bad decoding, threshold, aggregation_strategy, batch_size or chunk_size.
        """
        if kwargs:
            raise TypeError(
                f"unexpected arguments: {', '.join(sorted(kwargs))} (VANER's pipeline takes entity_types, dataset, "
                "decoding, threshold, aggregation_strategy, batch_size, chunk_size, sentence_split)"
            )
        if decoding is not None and decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
        if aggregation_strategy is not None and aggregation_strategy not in AGGREGATION_STRATEGIES:
            raise ValueError(
                f"aggregation_strategy must be one of {AGGREGATION_STRATEGIES}, got {aggregation_strategy!r}"
            )
        if threshold is not None and (isinstance(threshold, bool) or not 0 <= threshold <= 1):
            raise ValueError(f"threshold must be a number from 0 to 1, got {threshold!r}")
        for name, value in (("batch_size", batch_size), ("chunk_size", chunk_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        given = {
            "entity_types": entity_types,
            "dataset": dataset,
            "batch_size": batch_size,
            "sentence_split": sentence_split,
            "decoding": decoding,
            "threshold": threshold,
            "aggregation_strategy": aggregation_strategy,
            "chunk_size": chunk_size,
        }
        return {name: value for name, value in given.items() if value is not None}, {}, {}

    def call_parameters(self, **kwargs) -> dict:
        """Every call argument: those given now, else those given at construction, else the defaults (see the
        class docstring); entity types and dataset checked.

        Raises:
            TypeError, ValueError: see `_sanitize_parameters`, `check_entity_types`, `check_dataset`.
        """
        given = {**self._preprocess_params, **self._sanitize_parameters(**kwargs)[0]}
        return {
            "entity_types": self.check_entity_types(given.get("entity_types")),
            "dataset": self.check_dataset(given.get("dataset")),
            "batch_size": given.get("batch_size", self._batch_size or DEFAULT_BATCH_SIZE),
            "sentence_split": given.get("sentence_split", True),
            "decoding": given.get("decoding", DECODINGS[0]),
            "threshold": given.get("threshold", 0.0),
            "aggregation_strategy": given.get("aggregation_strategy", AGGREGATION_STRATEGIES[0]),
            "chunk_size": given.get("chunk_size", DEFAULT_CHUNK_SIZE),
        }

    def check_entity_types(self, entity_types) -> list[str]:
        """The entity types to tag: the model's own when None, a string as one type.

        Raises:
            ValueError: an empty list, or a type that is not a non-empty string.
        """
        if entity_types is None:
            return list(self.model.config.entity_types)
        if isinstance(entity_types, str):
            entity_types = [entity_types]
        entity_types = list(entity_types)
        if not entity_types:
            raise ValueError("entity_types is empty: name at least one type, e.g. ['Disease']")
        for entity_type in entity_types:
            if not isinstance(entity_type, str) or not entity_type.strip():
                raise ValueError(f"entity type must be a non-empty string, got {entity_type!r}")
        return [entity_type.strip() for entity_type in entity_types]

    def check_dataset(self, dataset) -> str | None:
        """`dataset` itself if the model knows it (config.corpus_types) or it is None.

        Raises:
            ValueError: a dataset name the model does not know.
        """
        known = self.model.config.corpus_types
        if dataset is not None and dataset not in known:
            raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(sorted(known))}, or None")
        return dataset

    def instruction_ids(self, entity_type: str, dataset: str | None) -> list[int]:
        key = (entity_type, dataset)
        if key not in self._instruction_cache:
            instruction = self.model.config.instruction(entity_type, dataset)
            keep_space = self.model.config.keep_instruction_space
            self._instruction_cache[key] = encode_instruction(self.tokenizer, instruction, keep_space)
        return self._instruction_cache[key]

    def word_windows(self, pieces: list[list[int]], sentences: list[tuple[int, int]], budget: int) -> list[_Window]:
        """Windows over the words of each sentence, each window owning the words it labels."""
        counts = [len(ids) for ids in pieces]
        windows = []
        for first, last in sentences:
            local = split_into_windows(counts[first:last], budget)
            owners = assign_words_to_windows(local, last - first)
            for window_index, (start, stop) in enumerate(local):
                owned = [first + word for word, owner in enumerate(owners) if owner == window_index]
                windows.append(_Window(first + start, first + stop, owned))
        return windows

    def rows_for(self, pieces, windows, entity_types, dataset) -> list[_Row]:
        """One row per (entity type, window)."""
        rows = []
        for type_index, entity_type in enumerate(entity_types):
            instruction = self.instruction_ids(entity_type, dataset)
            for window_index, window in enumerate(windows):
                row = build_input(instruction, pieces[window.first_word : window.last_word])
                rows.append(_Row(0, type_index, window_index, row["input_ids"], row["first_token_positions"]))
        return rows

    def window_budget(self, entity_types, dataset) -> int:
        """Word tokens a window can hold after the longest instruction of `entity_types`.

        Raises:
            ValueError: the instruction alone fills `config.max_window_tokens`.
        """
        longest_instruction = max(len(self.instruction_ids(t, dataset)) for t in entity_types)
        window = self.model.config.max_window_tokens
        if window <= longest_instruction:
            raise ValueError(
                f"max_window_tokens ({window}) leaves no room for words after the instruction "
                f"({longest_instruction} tokens); raise config.max_window_tokens"
            )
        return window - longest_instruction

    def preprocess(self, text: str, entity_types=None, dataset=None, sentence_split: bool = True) -> dict:
        """Words, sentences, windows and model rows of one text; `sentence_split=False` reads the text as one
        sentence (for text already split into sentences by the caller).

        Raises:
            TypeError: `text` is not a string.
            ValueError: see `check_entity_types`, `check_dataset`.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        entity_types = self.check_entity_types(entity_types)
        dataset = self.check_dataset(dataset)
        spans = split_words(text)
        pieces = encode_words(self.tokenizer, [text[start:end] for start, end in spans])
        sentences = split_sentences(text, spans) if sentence_split else [(0, len(spans))] if spans else []
        windows = self.word_windows(pieces, sentences, self.window_budget(entity_types, dataset))
        rows = self.rows_for(pieces, windows, entity_types, dataset)
        return {
            "text": text,
            "spans": spans,
            "sentences": sentences,
            "windows": windows,
            "rows": rows,
            "entity_types": entity_types,
        }

    def _forward(self, model_inputs: dict) -> dict:
        """Label probabilities for one padded batch: {"probabilities": (batch, tokens, labels)}."""
        with torch.inference_mode(), torch.autocast(self.device.type, torch.bfloat16, enabled=self.autocast_bf16):
            logits = self.forward_model(
                input_ids=model_inputs["input_ids"].to(self.device),
                attention_mask=model_inputs["attention_mask"].to(self.device),
            ).logits
        return {"probabilities": logits.float().softmax(-1).cpu()}

    def merge_windows(self, windows: list[_Window], predictions: dict, type_index: int, total: int) -> torch.Tensor:
        """Label probabilities (words x labels) of one entity type over all windows, each word from the window
        owning it."""
        probabilities = torch.zeros(total, NUM_LABELS)
        for window_index, window in enumerate(windows):
            owned = torch.tensor(window.owned_words, dtype=torch.long)
            probabilities[owned] = predictions[(type_index, window_index)][owned - window.first_word]
        return probabilities

    def decode_entities(self, probabilities: torch.Tensor, words: list[str], decoding: str):
        """Entities of one sentence and type from its word probabilities (words x [O, B, I]): word labels by
        `decoding`, spans tidied by `tidy_spans` (no broken brackets, no edge comma or hyphen: the rule chosen on
        dev data), each with the mean of its words' label probabilities. Returns `(first, last, score)` per entity."""
        labels, scores = decode_labels(probabilities, decoding)
        return [
            (first, last, sum(scores[first:last]) / (last - first))
            for first, last in tidy_spans(words, entity_spans(labels))
        ]

    def postprocess(
        self, model_outputs: dict, decoding: str = "viterbi", threshold: float = 0.0, aggregation_strategy="simple"
    ) -> list[dict]:
        """Entities of one text (or, for `aggregation_strategy="none"`, its B/I words) from its preprocessed form
        plus per-row word predictions; see the class docstring for the arguments and the dicts."""
        text, spans, windows = model_outputs["text"], model_outputs["spans"], model_outputs["windows"]
        words = [text[start:end] for start, end in spans]
        found = []
        for type_index, entity_type in enumerate(model_outputs["entity_types"]):
            probabilities = self.merge_windows(windows, model_outputs["predictions"], type_index, len(spans))
            for sentence_first, sentence_last in model_outputs["sentences"]:  # entities never cross sentences
                sentence = probabilities[sentence_first:sentence_last]
                for first, last, score in self.decode_entities(sentence, words[sentence_first:sentence_last], decoding):
                    first, last = sentence_first + first, sentence_first + last
                    if aggregation_strategy == "none":
                        found.extend(self.word_dicts(entity_type, first, last, probabilities, spans, words))
                    else:
                        start, end = spans[first][0], spans[last - 1][1]
                        entity = {"entity_group": entity_type, "score": score, "word": text[start:end]}
                        found.append({**entity, "start": start, "end": end})
        found = [item for item in found if item["score"] >= threshold]
        return sorted(found, key=lambda item: (item["start"], item["end"], item.get("entity_group", item.get("entity"))))

    @staticmethod
    def word_dicts(entity_type: str, first: int, last: int, probabilities, spans, words) -> list[dict]:
        """The words `first`..`last` (exclusive) of one entity as transformers' per-token dicts: B then I's, each
        with its probability of that label."""
        return [
            {
                "entity": f"{IOB2_LABELS[label]}-{entity_type}",
                "score": float(probabilities[index, label]),
                "index": index,
                "word": words[index],
                "start": spans[index][0],
                "end": spans[index][1],
            }
            for index, label in ((index, LABEL_B if index == first else LABEL_I) for index in range(first, last))
        ]

    # --- the whole call: batches by length across texts and entity types -------------------------------------
    def pad_batch(self, rows: list[_Row]) -> dict:
        """The batch's model inputs, and per row the `offset` of its first token (left padding)."""
        sequences = [row.input_ids for row in rows]
        if self.padding == "visible":
            width = max(self.model.config.max_window_tokens, *map(len, sequences))
            unknown = self.tokenizer.unk_token_id
            pad_id = unknown if unknown is not None else self.tokenizer.pad_token_id
            offsets = [width - len(sequence) for sequence in sequences]
            input_ids = torch.tensor([[pad_id] * offset + sequence for offset, sequence in zip(offsets, sequences)])
            return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "offsets": offsets}
        input_ids, attention_mask = pad_sequences(sequences, self.tokenizer.pad_token_id)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "offsets": [0] * len(rows)}

    def predict_rows(self, items: list[dict], batch_size: int) -> None:
        """Run every row of every item, shortest first, in padded batches; store each row's word label
        probabilities (words x labels) in its item's "predictions" under (type_index, window_index)."""
        rows = []
        for item_index, item in enumerate(items):
            item["predictions"] = {}
            for row in item["rows"]:
                row.text_index = item_index
                rows.append(row)
        rows.sort(key=lambda row: len(row.input_ids))
        for begin in range(0, len(rows), batch_size):
            batch = rows[begin : begin + batch_size]
            model_inputs = self.pad_batch(batch)
            probabilities = self._forward(model_inputs)["probabilities"]
            for row, offset, row_probabilities in zip(batch, model_inputs["offsets"], probabilities):
                items[row.text_index]["predictions"][(row.type_index, row.window_index)] = row_probabilities[
                    [position + offset for position in row.first_token_positions]
                ]

    def __call__(self, inputs, **kwargs):
        """Tag `inputs` (a string, a list of strings, or any other iterable of strings; see the class docstring)
        with the call arguments `kwargs` over those given at construction.

        Raises:
            TypeError: an input that is not a string, or an unknown argument.
            ValueError: a bad argument value.
        """
        parameters = self.call_parameters(**kwargs)
        if isinstance(inputs, str):
            return self.tag_texts([inputs], parameters)[0]
        if isinstance(inputs, (list, tuple)):
            return self.tag_texts(list(inputs), parameters)
        return self.stream(dataset_texts(inputs), parameters)

    def tag_texts(self, texts: list[str], parameters: dict) -> list[list[dict]]:
        """One list of entities per text, all texts' rows batched together by length; the memory the batches
        freed is handed back to the system (`release_freed_memory`), so that chunk after chunk does not grow it."""
        preprocess_keys = ("entity_types", "dataset", "sentence_split")
        items = [self.preprocess(text, **{key: parameters[key] for key in preprocess_keys}) for text in texts]
        self.predict_rows(items, parameters["batch_size"])
        postprocess_keys = ("decoding", "threshold", "aggregation_strategy")
        entities = [self.postprocess(item, **{key: parameters[key] for key in postprocess_keys}) for item in items]
        del items
        release_freed_memory()
        return entities

    def stream(self, texts, parameters: dict):
        """Yield one list of entities per text of the iterable `texts`, in order, tagging `chunk_size` texts at a
        time."""
        chunk = []
        for text in texts:
            chunk.append(text)
            if len(chunk) == parameters["chunk_size"]:
                yield from self.tag_texts(chunk, parameters)
                chunk = []
        if chunk:
            yield from self.tag_texts(chunk, parameters)

    def word_probabilities(self, sentences: list[list[str]], entity_type: str, dataset=None, batch_size=None):
        """O/B/I probabilities of pre-tokenized sentences: one (words x 3) float tensor per sentence, each word read
        at its first token; long sentences are windowed exactly as in `__call__`."""
        parameters = self.call_parameters(entity_types=[entity_type], dataset=dataset, batch_size=batch_size)
        entity_types, dataset = parameters["entity_types"], parameters["dataset"]
        budget = self.window_budget(entity_types, dataset)
        items = []
        for words in sentences:
            pieces = encode_words(self.tokenizer, list(words))
            windows = self.word_windows(pieces, [(0, len(words))] if words else [], budget)
            items.append({"windows": windows, "rows": self.rows_for(pieces, windows, entity_types, dataset)})
        self.predict_rows(items, parameters["batch_size"])
        return [
            self.merge_windows(item["windows"], item["predictions"], 0, len(words))
            for item, words in zip(items, sentences)
        ]

    def tag_words(self, sentences: list[list[str]], entity_type: str, dataset=None, batch_size=None) -> list[list[int]]:
        """Word labels (0=O, 1=B, 2=I) for pre-tokenized sentences, one list per sentence with one label per
        word, decoded from `word_probabilities` exactly as `__call__` decodes entities (with the decoding given at
        construction). This is what evaluation scores."""
        decoding = self.call_parameters()["decoding"]
        probabilities = self.word_probabilities(sentences, entity_type, dataset, batch_size)
        labels = []
        for sentence, words in zip(probabilities, sentences):
            spans = [(first, last) for first, last, _ in self.decode_entities(sentence, words, decoding)]
            labels.append(spans_to_labels(spans, len(words)))
        return labels


def dataset_texts(inputs):
    """The texts of a streamed input: a `datasets.Dataset`'s "text" column (read in batches), else the iterable
    itself (a generator, a `KeyDataset`...).

    Raises:
        ValueError: a `datasets.Dataset` without a "text" column.
        TypeError: an input that cannot be iterated.
    """
    column_names = getattr(inputs, "column_names", None)
    if column_names is not None and hasattr(inputs, "iter"):  # a datasets.Dataset: its rows are dicts
        if "text" not in column_names:
            raise ValueError(
                f"the dataset has no 'text' column (columns: {', '.join(column_names)}); pass "
                "KeyDataset(dataset, 'your_column') from transformers.pipelines.pt_utils"
            )
        return (text for batch in inputs.iter(batch_size=DEFAULT_CHUNK_SIZE) for text in batch["text"])
    try:
        return iter(inputs)
    except TypeError:
        raise TypeError(
            f"inputs must be a string, a list of strings or an iterable of strings, got {type(inputs).__name__}"
        ) from None


__all__ = ["VanerTokenClassificationPipeline"]
