"""VANER token-classification pipeline: biomedical entities with character offsets, types and scores.

Self-contained (transformers and torch only) so that it can be copied to a Hub repository as it is. The text
helpers here (word splitting, word encoding, windows, BIO decoding) are the single implementation that training
and evaluation use too, so that the model sees the same inputs at training and at inference.
"""

import math
import re
from dataclasses import dataclass

import torch
from transformers import Pipeline

LABEL_O, LABEL_B, LABEL_I = 0, 1, 2
NUM_LABELS = 3
IGNORE_INDEX = -100
# Words as the corpora tokenize them: runs of letters/digits, and every other non-space character on its own.
WORD_PATTERN = re.compile(r"\w+|[^\w\s]")
SENTENCE_END_WORDS = {".", "!", "?"}
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


# ---------------------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------------------
def prepare_tokenizer(tokenizer):
    """Make every pre-split word tokenize as it does inside running text (with its leading space), and make
    sure a padding token exists. Returns the same tokenizer, changed in place.

    Byte-level tokenizers (SmolLM2, GPT-2 style) default to `add_prefix_space=False`, which turns " in" into "in"
    for every word of `is_split_into_words=True` input; SentencePiece-style (Metaspace) ones prepend "▁" to the
    first word only.
    """
    from tokenizers import pre_tokenizers

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ValueError(f"VANER needs a fast tokenizer (with offsets); got {type(tokenizer).__name__}")
    pre_tokenizer = backend.pre_tokenizer
    if isinstance(pre_tokenizer, pre_tokenizers.ByteLevel) and not pre_tokenizer.add_prefix_space:
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(
            add_prefix_space=True, trim_offsets=pre_tokenizer.trim_offsets, use_regex=pre_tokenizer.use_regex
        )
    elif isinstance(pre_tokenizer, pre_tokenizers.Metaspace) and pre_tokenizer.prepend_scheme != "always":
        backend.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=pre_tokenizer.replacement, prepend_scheme="always", split=pre_tokenizer.split
        )
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def special_prefix_ids(tokenizer) -> list[int]:
    """The special tokens the tokenizer puts before any text (BOS for Llama-2, none for SmolLM2)."""
    return tokenizer("", add_special_tokens=True)["input_ids"]


def encode_words(tokenizer, words: list[str]) -> list[list[int]]:
    """Token ids of each word, as it is tokenized inside the sentence (with its leading space)."""
    if not words:
        return []
    encoding = tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
    pieces = [[] for _ in words]
    for token_id, word_index in zip(encoding["input_ids"], encoding.word_ids()):
        if word_index is not None:
            pieces[word_index].append(token_id)
    for index, ids in enumerate(pieces):
        if not ids:  # e.g. a control character the vocabulary drops: keep the word, with the unknown token.
            ids.append(tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.pad_token_id)
    return pieces


def encode_instruction(tokenizer, instruction: str) -> list[int]:
    """Special prefix plus the instruction's tokens; the instruction is the first "word" of every input."""
    return special_prefix_ids(tokenizer) + encode_words(tokenizer, [instruction.strip()])[0]


def build_input(
    instruction_ids: list[int], word_pieces: list[list[int]], word_labels: list[int] | None = None
) -> dict:
    """One model input: `input_ids`, `first_token_positions` (one per word) and, with `word_labels`, `labels`
    (the word's label on its first sub-token, -100 elsewhere)."""
    input_ids = list(instruction_ids)
    first_positions = []
    for ids in word_pieces:
        first_positions.append(len(input_ids))
        input_ids.extend(ids)
    row = {"input_ids": input_ids, "first_token_positions": first_positions}
    if word_labels is not None:
        if len(word_labels) != len(word_pieces):
            raise ValueError(f"{len(word_labels)} labels for {len(word_pieces)} words")
        labels = [IGNORE_INDEX] * len(input_ids)
        for position, label in zip(first_positions, word_labels):
            labels[position] = label
        row["labels"] = labels
    return row


# ---------------------------------------------------------------------------------------------------------------
# Text: words, sentences, windows
# ---------------------------------------------------------------------------------------------------------------
def split_words(text: str) -> list[tuple[int, int]]:
    """Character spans (start, end) of the words of `text`."""
    return [match.span() for match in WORD_PATTERN.finditer(text)]


def split_sentences(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentences as word-index ranges [first, last): a sentence ends after '.', '!' or '?' followed by white
    space and a capital letter or digit, or at a paragraph break (blank line)."""
    breaks = {match.start() for match in PARAGRAPH_BREAK.finditer(text)}
    sentences, first = [], 0
    for index in range(1, len(spans)):
        previous_end, (start, _) = spans[index - 1][1], spans[index]
        gap = text[previous_end:start]
        ends_sentence = (
            text[spans[index - 1][0] : previous_end] in SENTENCE_END_WORDS
            and gap.strip() == ""
            and gap != ""
            and (text[start].isupper() or text[start].isdigit())
        )
        if ends_sentence or any(previous_end <= position < start for position in breaks):
            sentences.append((first, index))
            first = index
    if spans:
        sentences.append((first, len(spans)))
    return sentences


def split_into_windows(token_counts: list[int], budget: int) -> list[tuple[int, int]]:
    """Cover words [0, n) with windows [first, last) of at most `budget` tokens each. One window when all fits;
    otherwise consecutive windows overlap by about half, so that every word is also seen with context on both
    sides (see `assign_words_to_windows`). A single word longer than the budget gets a window of its own (its
    first sub-token, which carries its label, is always kept)."""
    if budget < 1:
        raise ValueError(f"window budget must be positive, got {budget}")
    total = len(token_counts)
    if sum(token_counts) <= budget:
        return [(0, total)]
    windows, first = [], 0
    while first < total:
        last, used = first, 0
        while last < total and (last == first or used + token_counts[last] <= budget):
            used += token_counts[last]
            last += 1
        windows.append((first, last))
        if last == total:
            break
        first = max(first + 1, (first + last) // 2)
    return windows


def assign_words_to_windows(windows: list[tuple[int, int]], total: int) -> list[int]:
    """For each word, the window in which it is farthest from an edge (its best context)."""
    owner = []
    for word in range(total):
        best, best_margin = 0, -1
        for index, (first, last) in enumerate(windows):
            if first <= word < last:
                margin = min(word - first, last - 1 - word)
                if margin > best_margin:
                    best, best_margin = index, margin
        owner.append(best)
    return owner


def decode_bio(labels: list[int], scores: list[float]) -> list[tuple[int, int, float]]:
    """Entities (first_word, last_word_exclusive, mean score) from word labels; an I without a B starts one."""
    entities, start = [], None
    for index, label in enumerate(list(labels) + [LABEL_O]):
        if start is not None and label != LABEL_I:
            entities.append((start, index, sum(scores[start:index]) / (index - start)))
            start = None
        if label == LABEL_B or (label == LABEL_I and start is None):
            start = index
    return entities


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


DECODINGS = ("viterbi", "argmax")


def decode_labels(probabilities: torch.Tensor, decoding: str) -> tuple[list[int], list[float]]:
    """Word labels and each word's probability of its label, by `decoding`: "viterbi" (valid IOB2, the default)
    or "argmax" (each word on its own)."""
    if decoding == "viterbi":
        labels = viterbi_labels(probabilities)
    else:
        labels = probabilities.argmax(-1).tolist() if len(probabilities) else []
    scores = [float(probabilities[index, label]) for index, label in enumerate(labels)]
    return labels, scores


# ---------------------------------------------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------------------------------------------
def bf16_supported(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively. On CPU that takes AVX512_BF16 or AMX: oneDNN also runs bf16 on plain
    AVX-512 (`_is_mkldnn_bf16_supported` is true there), but emulated, several times slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


PRECISIONS = ("auto", "bf16", "fp32")


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def use_bf16_autocast(precision: str, device: torch.device, model_dtype: torch.dtype) -> bool:
    """"auto": bf16 autocast for an fp32 model where the hardware computes bf16 natively (AMX/AVX512-BF16 CPUs,
    recent GPUs); "bf16": always; "fp32": never (the model runs in the dtype it was loaded in)."""
    if check_precision(precision) == "auto":
        return model_dtype == torch.float32 and bf16_supported(device)
    return precision == "bf16"


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


class VanerTokenClassificationPipeline(Pipeline):
    """`pipeline("token-classification", model=..., trust_remote_code=True)` for VANER models.

    Construct with `precision` "auto" (default: bf16 autocast where the hardware supports it), "bf16" or "fp32",
    `decoding` "viterbi" (default: the most probable valid IOB2 label sequence per sentence) or "argmax" (each
    word's most probable label), and `compile=True` for bulk tagging: the forward is compiled by `torch.compile`
    (dynamic shapes, so batches of any size and width reuse one graph); it costs minutes once (259 s on a 2-core
    CPU), then the forward runs about 1.3x faster there (`benchmarks/speed.py`).
    Call with a string or a list of strings, and optionally `entity_types` (default: all the model's types;
    any non-empty string is allowed, the instruction is free text), `dataset` (a known corpus name, for the
    instruction with the dataset name; default None: the type-only instruction) and `batch_size`.

    Returns, per text, a list of `{"entity_group", "score", "word", "start", "end"}` sorted by start, with
    `text[start:end] == word`; entities of different types may overlap. A string input gives one list, a list
    input a list of lists. Text longer than the model window is split into sentences, then into overlapping
    windows, and the predictions are merged: nothing is truncated.
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True

    def __init__(self, *args, precision: str = "auto", compile: bool = False, decoding: str = "viterbi", **kwargs):
        super().__init__(*args, **kwargs)
        if decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
        self.decoding = decoding
        prepare_tokenizer(self.tokenizer)
        self._instruction_cache = {}
        self.autocast_bf16 = use_bf16_autocast(precision, self.device, self.model.dtype)
        # the elementwise ops (RMSNorm, RoPE, SiLU) cost as much as the matmuls at this model size: fusing pays
        self.forward_model = torch.compile(self.model, dynamic=True) if compile else self.model

    # --- the steps, each usable on its own ------------------------------------------------------------------
    def _sanitize_parameters(self, entity_types=None, dataset=None, batch_size=None, **kwargs):
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(sorted(kwargs))}")
        preprocess = {}
        if entity_types is not None:
            preprocess["entity_types"] = entity_types
        if dataset is not None:
            preprocess["dataset"] = dataset
        return preprocess, {}, {}

    def check_entity_types(self, entity_types) -> list[str]:
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
        known = self.model.config.corpus_types
        if dataset is not None and dataset not in known:
            raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(sorted(known))}, or None")
        return dataset

    def instruction_ids(self, entity_type: str, dataset: str | None) -> list[int]:
        key = (entity_type, dataset)
        if key not in self._instruction_cache:
            instruction = self.model.config.instruction(entity_type, dataset)
            self._instruction_cache[key] = encode_instruction(self.tokenizer, instruction)
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
        longest_instruction = max(len(self.instruction_ids(t, dataset)) for t in entity_types)
        window = self.model.config.max_window_tokens
        if window <= longest_instruction:
            raise ValueError(
                f"max_window_tokens ({window}) leaves no room for words after the instruction "
                f"({longest_instruction} tokens); raise config.max_window_tokens"
            )
        return window - longest_instruction

    def preprocess(self, text: str, entity_types=None, dataset=None) -> dict:
        """Words, sentences, windows and model rows of one text."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        entity_types = self.check_entity_types(entity_types)
        dataset = self.check_dataset(dataset)
        spans = split_words(text)
        pieces = encode_words(self.tokenizer, [text[start:end] for start, end in spans])
        sentences = split_sentences(text, spans)
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

    def postprocess(self, model_outputs: dict) -> list[dict]:
        """Entities of one text from its preprocessed form plus per-row word predictions."""
        text, spans, windows = model_outputs["text"], model_outputs["spans"], model_outputs["windows"]
        entities = []
        for type_index, entity_type in enumerate(model_outputs["entity_types"]):
            probabilities = self.merge_windows(windows, model_outputs["predictions"], type_index, len(spans))
            for sentence_first, sentence_last in model_outputs["sentences"]:  # entities never cross sentences
                labels, scores = decode_labels(probabilities[sentence_first:sentence_last], self.decoding)
                for first, last, score in decode_bio(labels, scores):
                    start, end = spans[sentence_first + first][0], spans[sentence_first + last - 1][1]
                    entities.append(
                        {"entity_group": entity_type, "score": score, "word": text[start:end], "start": start, "end": end}
                    )
        return sorted(entities, key=lambda entity: (entity["start"], entity["end"], entity["entity_group"]))

    # --- the whole call: batches by length across texts and entity types -------------------------------------
    def pad_batch(self, rows: list[_Row]) -> dict:
        width = max(len(row.input_ids) for row in rows)
        input_ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for index, row in enumerate(rows):
            input_ids[index, : len(row.input_ids)] = torch.tensor(row.input_ids)
            attention_mask[index, : len(row.input_ids)] = 1
        return {"input_ids": input_ids, "attention_mask": attention_mask}

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
            probabilities = self._forward(self.pad_batch(batch))["probabilities"]
            for row, row_probabilities in zip(batch, probabilities):
                items[row.text_index]["predictions"][(row.type_index, row.window_index)] = row_probabilities[
                    row.first_token_positions
                ]

    def __call__(self, inputs, entity_types=None, dataset=None, batch_size=None, **kwargs):
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(sorted(kwargs))}")
        single = isinstance(inputs, str)
        texts = [inputs] if single else list(inputs)
        items = [self.preprocess(text, entity_types, dataset) for text in texts]
        self.predict_rows(items, batch_size or self._batch_size or 8)
        results = [self.postprocess(item) for item in items]
        return results[0] if single else results

    def word_probabilities(self, sentences: list[list[str]], entity_type: str, dataset=None, batch_size=None):
        """O/B/I probabilities of pre-tokenized sentences: one (words x 3) float tensor per sentence, each word read
        at its first token; long sentences are windowed exactly as in `__call__`."""
        entity_types = self.check_entity_types([entity_type])
        dataset = self.check_dataset(dataset)
        budget = self.window_budget(entity_types, dataset)
        items = []
        for words in sentences:
            pieces = encode_words(self.tokenizer, list(words))
            windows = self.word_windows(pieces, [(0, len(words))] if words else [], budget)
            items.append({"windows": windows, "rows": self.rows_for(pieces, windows, entity_types, dataset)})
        self.predict_rows(items, batch_size or self._batch_size or 8)
        return [
            self.merge_windows(item["windows"], item["predictions"], 0, len(words))
            for item, words in zip(items, sentences)
        ]

    def tag_words(self, sentences: list[list[str]], entity_type: str, dataset=None, batch_size=None) -> list[list[int]]:
        """Word labels (0=O, 1=B, 2=I) for pre-tokenized sentences, one list per sentence with one label per
        word, decoded from `word_probabilities`. This is what evaluation scores."""
        probabilities = self.word_probabilities(sentences, entity_type, dataset, batch_size)
        return [decode_labels(sentence, self.decoding)[0] for sentence in probabilities]


__all__ = ["VanerTokenClassificationPipeline"]
