"""VANER token-classification pipeline: biomedical entities with character offsets, types and scores.

Self-contained (transformers and torch, plus its sibling Hub files: `options_vaner.py` for the call options,
`processing_vaner.py` for words, sentences, windows and IOB2 spans, `decoding_vaner.py` for labels and entities,
`runtime_vaner.py` for precision, int8, ONNX Runtime and memory) so that it can be copied to a Hub repository as
it is.
"""

import contextlib
import importlib

import torch
from transformers import Pipeline
from transformers.utils import add_end_docstrings

from .decoding_vaner import decode_entities, decode_text_entities, word_entity_dicts
from .options_vaner import (
    PADDINGS,
    PRECISIONS,
    CallOptions,
    check_choice,
    check_trained_types,
    input_texts,
    render_call_arguments,
)
from .processing_vaner import (
    NUM_LABELS,
    Row,
    Window,
    cut_at_breaks,
    encode_instruction,
    encode_words,
    prepare_tokenizer,
    sentence_windows,
    spans_to_labels,
    window_rows,
)
from .runtime_vaner import (
    RESOLVED_PRECISIONS,
    OnnxRuntimeForward,
    apply_precision,
    left_pad_visible,
    pad_sequences,
    release_freed_memory,
    resolve_device,
    resolve_precision,
)
from .text_vaner import DEFAULT_BREAK_RULE, DEFAULT_HYPHEN_RULE, split_raw_words, split_sentences


@add_end_docstrings("\n", render_call_arguments("    "), "\n    ")
class VanerTokenClassificationPipeline(Pipeline):
    """`pipeline("token-classification", model=..., trust_remote_code=True)` for VANER models (or "ner": a saved
    folder's `custom_pipelines` lists both). A model object never reaches it through the task name (`pipeline()`
    reads `custom_pipelines` only from a folder or hub id): pass `pipeline_class=VanerTokenClassificationPipeline`.

    Fixed at construction: `precision` "auto" (default: bf16 where the hardware computes it natively, else fp32;
    `$VANER_PRECISION` forces either), "bf16" (a float32 model is cast to bf16 in place and runs under bf16
    autocast), "fp32" (the model runs in the dtype it has, under no autocast of the pipeline's own) or "int8" (the
    backbone's linear layers quantized in place, see `quantize_int8`; needs torchao); `onnx_model`: a file written
    by `vaner export-onnx` from this model (fp32, or its int8 linear layers, the fastest on CPUs: see
    `benchmarks/results/`), run by ONNX Runtime on the CPU instead of the torch forward; `compile=True` for bulk
    tagging: the forward is compiled by `torch.compile` (dynamic shapes, so batches of any size and width reuse
    one graph); it costs minutes once (259 s on a 2-core CPU), then the forward runs about 1.3x faster there
    (`benchmarks/speed.py`); `padding="visible"` reproduces the authors' released inference for a converted
    release (`vaner convert-release`): rows left-padded to `config.max_window_tokens` with the unknown token and
    padding attended like text; the default, "masked", lets no token see padding, so a text's entities do not
    depend on its batch.

    Inputs: a string gives one list of entities; a list or tuple of strings a list of lists. Any other iterable (a
    generator, a `KeyDataset`, a `datasets.Dataset` with a "text" column) gives an iterator of lists, in input
    order, computed chunk by chunk (rows batched by length within a chunk), so memory does not grow with the
    collection.

    Each entity is `{"entity_group", "score", "word", "start", "end"}` with `text[start:end] == word`, sorted by
    start; `score` is the mean of its words' label probabilities; entities of different types may overlap. Text
    longer than the model window is split into sentences, then into overlapping windows, and the predictions are
    merged: nothing is truncated.

    Call arguments, given at construction as defaults or to a call to override them (`options_vaner.CallOptions`):"""

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True
    # None: silent; else `progress(total)` returning a tqdm-like bar (a context manager with `update(n)`), which
    # `predict_rows` advances by the tokens of each batch it runs (`vaner extract` sets it for long texts)
    progress = None
    # `link=True`'s concept linker (`modeling_vaner.linking.Linker`): set it to choose its dictionaries, else the
    # package's default one is loaded on first use (`concept_linker`)
    linker = None

    def __init__(
        self,
        *args,
        precision: str = "auto",
        compile: bool = False,
        padding: str = PADDINGS[0],
        onnx_model=None,
        **kwargs,
    ):
        """`precision`, `compile`, `padding` and `onnx_model` as in the class docstring; the call arguments as
        defaults for every call; the rest as `Pipeline` (`device` may also be "auto": CUDA where there is a GPU).

        Raises:
            ValueError: an unknown padding or precision, a bad call argument, a device this machine cannot run on
                (`resolve_device`), `onnx_model` with `compile`, a precision other than "auto" or "fp32", or a
                device other than the CPU, or a file exported from another model.
            TypeError: an argument this pipeline does not take.
        """
        if "device" in kwargs:  # before `Pipeline` moves the model there
            kwargs["device"] = resolve_device(kwargs["device"])
        super().__init__(*args, **kwargs)
        self.padding = check_choice("padding", padding, PADDINGS)
        prepare_tokenizer(self.tokenizer)
        self._instruction_cache = {}
        # markup and layout (`text_vaner.split_raw_words`): the rules chosen on dev data; attributes so that
        # benchmarks/line_layout.py can run the candidates through this pipeline
        self.hyphen_rule, self.break_rule = DEFAULT_HYPHEN_RULE, DEFAULT_BREAK_RULE
        self._warned_types = set()  # the untrained types already warned about: once per type per pipeline
        if onnx_model is not None:
            precision_conflicts = check_choice("precision", precision, PRECISIONS) not in ("auto", "fp32")
            conflicts = [
                *(["compile"] if compile else []),
                *([f"precision {precision!r}"] if precision_conflicts else []),
                *([f"device {self.device.type!r}"] if self.device.type != "cpu" else []),
            ]
            if conflicts:
                conflicting = ", ".join(conflicts)
                raise ValueError(
                    f"an ONNX model runs on the CPU in the precision it was exported in, not with {conflicting}"
                )
            self.precision = RESOLVED_PRECISIONS["fp32"]
            self.forward_model = OnnxRuntimeForward(onnx_model, self.model)
        else:
            self.precision = resolve_precision(precision, self.device)
            apply_precision(self.model, self.precision)
            # the elementwise ops (RMSNorm, RoPE, SiLU) cost as much as the matmuls at this model size: fusing pays
            self.forward_model = torch.compile(self.model, dynamic=True) if compile else self.model
        # the defaults of every call: the model's own types, then what was given here (transformers keeps the
        # call arguments given to the constructor in `_preprocess_params`, and the batch size in `_batch_size`)
        defaults = CallOptions(entity_types=tuple(self.model.config.entity_types))
        self.options = self.checked(defaults.replace(**self._preprocess_params, batch_size=self._batch_size))

    # --- the steps, each usable on its own ------------------------------------------------------------------
    def _sanitize_parameters(self, **kwargs):
        """The call arguments given (None: not given), as the first of transformers' three parameter dicts (this
        pipeline runs its steps itself, across texts); they are checked once, when they become `CallOptions`.

        Raises:
            TypeError: an argument this pipeline does not take.
        """
        CallOptions.check_names(kwargs)
        return {name: value for name, value in kwargs.items() if value is not None}, {}, {}

    def call_options(self, **kwargs) -> CallOptions:
        """The options of a call: those given now over those given at construction over the defaults
        (`CallOptions`).

        Raises:
            TypeError: an argument this pipeline does not take.
            ValueError: a bad value, or a dataset the model does not know.
        """
        return self.checked(self.options.replace(**kwargs)) if kwargs else self.options

    def checked(self, options: CallOptions) -> CallOptions:
        """`options` itself if its dataset is None or one the model knows (`config.corpus_types`), and its entity
        types are the model's trained types, else what `check_trained_types` says (a warning once per type per
        pipeline, or an error with `options.strict_types`); a one-pass model has no head for an untrained type.

        Raises:
            ValueError: a dataset name the model does not know, an untrained type with `strict_types`, or any
                untrained type for a one-pass model.
        """
        config = self.model.config
        if options.dataset is not None and options.dataset not in config.corpus_types:
            known = ", ".join(sorted(config.corpus_types))
            raise ValueError(f"unknown dataset {options.dataset!r}; known: {known}, or None")
        for entity_type in options.entity_types if config.one_pass else ():
            config.head_index(entity_type)  # raises for a type without a head, before anything is tagged
        check_trained_types(
            options.entity_types,
            self.model.config.entity_types,
            options.strict_types,
            self._warned_types,
            stacklevel=4,  # the caller of `__call__` (checked <- call_options <- __call__)
        )
        return options

    def instruction_ids(self, entity_type: str | None, dataset: str | None) -> list[int]:
        key = (entity_type, dataset)
        if key not in self._instruction_cache:
            instruction = self.model.config.instruction(entity_type, dataset)
            keep_space = self.model.config.keep_instruction_space
            self._instruction_cache[key] = encode_instruction(self.tokenizer, instruction, keep_space)
        return self._instruction_cache[key]

    def row_instructions(self, entity_types, dataset) -> list[tuple[list[int], dict[int, int]]]:
        """`(instruction ids, heads)` of each row a window gets (`processing_vaner.Row`): per type asked for, its
        instruction and the one head of a per-type model; for a one-pass model, one row for all of them."""
        config = self.model.config
        if config.one_pass:
            heads = {index: config.head_index(entity_type) for index, entity_type in enumerate(entity_types)}
            return [(self.instruction_ids(None, dataset), heads)]
        return [(self.instruction_ids(t, dataset), {index: 0}) for index, t in enumerate(entity_types)]

    def window_budget(self, instructions) -> int:
        """Word tokens a window can hold after the longest of `instructions` (`row_instructions`).

        Raises:
            ValueError: the instruction alone fills `config.max_window_tokens`.
        """
        longest_instruction = max(len(instruction_ids) for instruction_ids, _ in instructions)
        window = self.model.config.max_window_tokens
        if window <= longest_instruction:
            raise ValueError(
                f"max_window_tokens ({window}) leaves no room for words after the instruction "
                f"({longest_instruction} tokens); raise config.max_window_tokens"
            )
        return window - longest_instruction

    def preprocess(self, text: str, options: CallOptions | None = None) -> dict:
        """Words, sentences, windows and model rows of one text for `options` (default: the construction's);
        `options.sentence_split=False` reads the text as one sentence. Markup tags are no words, character
        references and words hyphenated at a line end are read as `text_vaner.split_raw_words` says, and no
        entity will cross a tab, a line break or a tag (its `breaks`).

        Raises:
            TypeError: `text` is not a string.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        options = options or self.options
        entity_types, dataset = options.entity_types, options.dataset
        spans, words, breaks, markup = split_raw_words(text, self.hyphen_rule)
        pieces = encode_words(self.tokenizer, words)
        sentences = split_sentences(text, spans) if options.sentence_split else [(0, len(spans))] if spans else []
        if self.break_rule == "sentence":
            sentences = cut_at_breaks(sentences, breaks)
        instructions = self.row_instructions(entity_types, dataset)
        windows = sentence_windows([len(ids) for ids in pieces], sentences, self.window_budget(instructions))
        rows = window_rows(instructions, pieces, windows)
        return {
            "text": text,
            "spans": spans,
            "words": words,
            "breaks": breaks,
            "markup": markup,
            "sentences": sentences,
            "windows": windows,
            "rows": rows,
            "entity_types": entity_types,
        }

    def _forward(self, model_inputs: dict) -> dict:
        """Label probabilities for one padded batch: {"probabilities": (batch, tokens, heads, labels)}, heads 1
        for a per-type model, one per `config.entity_types` entry for a one-pass model."""
        # no autocast context at all when not autocasting: a caller's own (the Trainer's) then applies
        autocast = torch.autocast(self.device.type, torch.bfloat16) if self.precision.autocast else None
        with torch.inference_mode(), autocast or contextlib.nullcontext():
            logits = self.forward_model(
                input_ids=model_inputs["input_ids"].to(self.device),
                attention_mask=model_inputs["attention_mask"].to(self.device),
            ).logits
        probabilities = logits.float().softmax(-1).cpu()
        return {"probabilities": probabilities.view(*probabilities.shape[:2], -1, NUM_LABELS)}

    def merge_windows(self, windows: list[Window], predictions: dict, type_index: int, total: int) -> torch.Tensor:
        """Label probabilities (words x labels) of one entity type over all windows, each word from the window
        owning it."""
        probabilities = torch.zeros(total, NUM_LABELS)
        for window_index, window in enumerate(windows):
            owned = torch.tensor(window.owned_words, dtype=torch.long)
            probabilities[owned] = predictions[(type_index, window_index)][owned - window.first_word]
        return probabilities

    def postprocess(self, model_outputs: dict, options: CallOptions | None = None) -> list[dict]:
        """Entities of one text (or, for `aggregation_strategy="none"`, its B/I words) from its preprocessed form
        plus per-row word predictions, by `options` (default: the construction's); see the class docstring for the
        dicts."""
        options = options or self.options
        text, spans, windows = model_outputs["text"], model_outputs["spans"], model_outputs["windows"]
        words = [text[start:end] for start, end in spans]
        model_words, breaks, markup = model_outputs["words"], model_outputs["breaks"], model_outputs["markup"]
        found = []
        for type_index, entity_type in enumerate(model_outputs["entity_types"]):
            probabilities = self.merge_windows(windows, model_outputs["predictions"], type_index, len(spans))
            sentences = model_outputs["sentences"]  # entities never cross sentences
            for first, last, score in decode_text_entities(
                probabilities, sentences, model_words, options.decoding, breaks, self.break_rule, markup
            ):
                if options.aggregation_strategy == "none":
                    found.extend(word_entity_dicts(entity_type, first, last, probabilities, spans, words))
                else:
                    start, end = spans[first][0], spans[last - 1][1]
                    entity = {"entity_group": entity_type, "score": score, "word": text[start:end]}
                    found.append({**entity, "start": start, "end": end})
        found = [item for item in found if item["score"] >= options.threshold]
        return sorted(found, key=lambda item: (item["start"], item["end"], item.get("entity_group") or item["entity"]))

    # --- the whole call: batches by length across texts and entity types -------------------------------------
    def pad_batch(self, rows: list[Row]) -> dict:
        """The batch's model inputs, and per row the `offset` of its first token (left padding)."""
        sequences = [row.input_ids for row in rows]
        if self.padding == "visible":
            unknown = self.tokenizer.unk_token_id
            pad_id = unknown if unknown is not None else self.tokenizer.pad_token_id
            input_ids, offsets = left_pad_visible(sequences, pad_id, self.model.config.max_window_tokens)
            return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "offsets": offsets}
        input_ids, attention_mask = pad_sequences(sequences, self.tokenizer.pad_token_id)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "offsets": [0] * len(rows)}

    def predict_rows(self, items: list[dict], batch_size: int) -> None:
        """Run every row of every item, shortest first, in padded batches; store each row's word label
        probabilities (words x labels) of each type it tags in its item's "predictions" under (type index,
        window_index): one forward, one type or (one-pass) all of them."""
        rows = []
        for item_index, item in enumerate(items):
            item["predictions"] = {}
            for row in item["rows"]:
                row.text_index = item_index
                rows.append(row)
        rows.sort(key=lambda row: len(row.input_ids))
        # tokens, not rows: the rows run shortest first, so a count of rows would promise too early an end
        total = sum(len(row.input_ids) for row in rows)
        with self.progress(total) if self.progress is not None else contextlib.nullcontext() as bar:
            for begin in range(0, len(rows), batch_size):
                batch = rows[begin : begin + batch_size]
                model_inputs = self.pad_batch(batch)
                probabilities = self._forward(model_inputs)["probabilities"]
                for row, offset, row_probabilities in zip(batch, model_inputs["offsets"], probabilities):
                    words = row_probabilities[[position + offset for position in row.first_token_positions]]
                    for type_index, head in row.heads.items():
                        items[row.text_index]["predictions"][(type_index, row.window_index)] = words[:, head]
                if bar is not None:
                    bar.update(sum(len(row.input_ids) for row in batch))

    def __call__(self, inputs, **kwargs):
        """Tag `inputs` (a string, a list of strings, or any other iterable of strings; see the class docstring)
        with the call arguments `kwargs` over those given at construction.

        Raises:
            TypeError: an input that is not a string, a list of strings or an iterable of strings (a dict, bytes),
                or an unknown argument.
            ValueError: a bad argument value.
        """
        texts = input_texts(inputs)
        options = self.call_options(**kwargs)
        if isinstance(texts, str):
            return self.tag_texts([texts], options)[0]
        if isinstance(texts, list):
            return self.tag_texts(texts, options)
        return self.stream(texts, options)

    def concept_linker(self):
        """The linker of `link=True`: `self.linker`, else the `vaner` package's default (`load_linker()`: its
        dictionaries from $VANER_KB_DIR and $VANER_LINKING_DIR), imported here, not at the top: this file also
        runs from a Hub repository without the package.

        Raises:
            ImportError: the `vaner` package is not installed.
        """
        if self.linker is None:
            try:
                linking = importlib.import_module("modeling_vaner.linking")
            except ImportError:
                raise ImportError(
                    "link=True needs the vaner package, which holds the concept linker and reads its dictionaries "
                    "(pip install vaner; see its README): this pipeline tags without it, but does not link"
                ) from None
            self.linker = linking.load_linker()
        return self.linker

    def tag_texts(self, texts: list[str], options: CallOptions) -> list[list[dict]]:
        """One list of entities per text, all texts' rows batched together by length; the memory the batches
        freed is handed back to the system (`release_freed_memory`), so that chunk after chunk does not grow it."""
        items = [self.preprocess(text, options) for text in texts]
        self.predict_rows(items, options.batch_size)
        entities = [self.postprocess(item, options) for item in items]
        if options.link:
            linker = self.concept_linker()
            entities = [linker.link_entities(text, found) for text, found in zip(texts, entities)]
        del items
        release_freed_memory()
        return entities

    def stream(self, texts, options: CallOptions):
        """Yield one list of entities per text of the iterable `texts`, in order, tagging `options.chunk_size`
        texts at a time."""
        chunk = []
        for text in texts:
            chunk.append(text)
            if len(chunk) == options.chunk_size:
                yield from self.tag_texts(chunk, options)
                chunk = []
        if chunk:
            yield from self.tag_texts(chunk, options)

    def word_probabilities(self, sentences: list[list[str]], entity_type: str, dataset=None, batch_size=None):
        """O/B/I probabilities of pre-tokenized sentences, each word read at its first token; long sentences are
        windowed exactly as in `__call__`.

        Args:
            sentences: lists of words.
            entity_type: the type to tag.
            dataset: a corpus the model knows, for the instruction (None: type-only).
            batch_size: rows per forward (default: the pipeline's).

        Returns:
            `list[torch.Tensor]`: one `(words, 3)` float tensor per sentence.
        """
        options = self.call_options(entity_types=entity_type, dataset=dataset, batch_size=batch_size)
        instructions = self.row_instructions(options.entity_types, options.dataset)
        budget = self.window_budget(instructions)
        items = []
        for words in sentences:
            pieces = encode_words(self.tokenizer, list(words))
            windows = sentence_windows([len(ids) for ids in pieces], [(0, len(words))] if words else [], budget)
            items.append({"windows": windows, "rows": window_rows(instructions, pieces, windows)})
        self.predict_rows(items, options.batch_size)
        return [
            self.merge_windows(item["windows"], item["predictions"], 0, len(words))
            for item, words in zip(items, sentences)
        ]

    def tag_words(self, sentences: list[list[str]], entity_type: str, dataset=None, batch_size=None) -> list[list[int]]:
        """Word labels for pre-tokenized sentences, decoded from `word_probabilities` exactly as `__call__` decodes
        entities (with the decoding given at construction). This is what evaluation scores.

        Returns:
            `list[list[int]]`: per sentence, one label (0=O, 1=B, 2=I) per word.
        """
        probabilities = self.word_probabilities(sentences, entity_type, dataset, batch_size)
        labels = []
        for sentence, words in zip(probabilities, sentences):
            spans = [(first, last) for first, last, _ in decode_entities(sentence, words, self.options.decoding)]
            labels.append(spans_to_labels(spans, len(words)))
        return labels


__all__ = ["VanerTokenClassificationPipeline"]
