"""VANER model inputs: word encoding, windows and IOB2 spans, without torch.

Self-contained (transformers' own dependencies only: `regex`, `tokenizers`, plus its sibling `text_vaner.py` for
words and sentences) so that it can be copied to a Hub repository beside the pipeline, which imports it. It is the
single implementation that inference, training, evaluation and DBR use, so that the model sees the same inputs at
training and at inference.
"""

import bisect
import unicodedata
from dataclasses import dataclass

import regex

from .text_vaner import BRACKETS, BREAK_RULES, DEFAULT_BREAK_RULE, bracket_partners

IOB2_LABELS = ("O", "B", "I")  # the head's classes, in order: outside, begins an entity, inside one
LABEL_O, LABEL_B, LABEL_I = range(len(IOB2_LABELS))
NUM_LABELS = len(IOB2_LABELS)
IGNORE_INDEX = -100


# ---------------------------------------------------------------------------------------------------------------
# Word encoding
# ---------------------------------------------------------------------------------------------------------------
def prepare_tokenizer(tokenizer):
    """Make every pre-split word tokenize as it does inside running text (with its leading space), and make sure a
    padding token exists.

    Byte-level tokenizers (SmolLM2, GPT-2 style) default to `add_prefix_space=False`, which turns " in" into "in"
    for every word of `is_split_into_words=True` input; SentencePiece-style (Metaspace) ones prepend "▁" to the
    first word only.

    Args:
        tokenizer (`PreTrainedTokenizerFast`): The model's tokenizer.

    Returns:
        The same tokenizer, changed in place.

    Raises:
        ValueError: the tokenizer is not a fast one (VANER needs offsets and word ids).
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
    """Token ids of each word, as it is tokenized inside the sentence (with its leading space). Each word is
    tokenized in its NFKC form: text copied from PDFs writes accents as combining marks ("Me\u0301nie\u0300re") and
    ligatures as one character ("\ufb01"), forms the model rarely saw in training. Offsets are the caller's and stay
    on the original text.

    Args:
        tokenizer (`PreTrainedTokenizerFast`): A tokenizer passed through `prepare_tokenizer`.
        words (`list[str]`): The words of one sentence.

    Returns:
        `list[list[int]]`: one non-empty list of token ids per word (a word the vocabulary drops entirely, e.g. a
        control character, gets the unknown or padding token, so that no word is lost).
    """
    if not words:
        return []
    normalized = [unicodedata.normalize("NFKC", word) for word in words]
    encoding = tokenizer(normalized, is_split_into_words=True, add_special_tokens=False)
    pieces = [[] for _ in words]
    for token_id, word_index in zip(encoding["input_ids"], encoding.word_ids()):
        if word_index is not None:
            pieces[word_index].append(token_id)
    for ids in pieces:
        if not ids:
            ids.append(tokenizer.unk_token_id if tokenizer.unk_token_id is not None else tokenizer.pad_token_id)
    return pieces


def encode_instruction(tokenizer, instruction: str, keep_trailing_space: bool = False) -> list[int]:
    """Special prefix plus the instruction's tokens; the instruction is the first "word" of every input.

    Args:
        tokenizer (`PreTrainedTokenizerFast`): A tokenizer passed through `prepare_tokenizer`.
        instruction (`str`): From `VanerConfig.instruction`.
        keep_trailing_space (`bool`): Tokenize the instruction's trailing space too (`config.keep_instruction_space`,
            as the authors' released models were trained).

    Returns:
        `list[int]`: the token ids.
    """
    text = instruction.rstrip() if not keep_trailing_space else instruction
    return special_prefix_ids(tokenizer) + encode_words(tokenizer, [text.lstrip()])[0]


def build_input(instruction_ids: list[int], word_pieces: list[list[int]], word_labels: list[int] | None = None) -> dict:
    """One model input: the instruction's ids followed by the words' ids.

    Args:
        instruction_ids (`list[int]`): From `encode_instruction`.
        word_pieces (`list[list[int]]`): From `encode_words`, one list per word.
        word_labels (`list[int]`, *optional*): One label per word (O/B/I, or `IGNORE_INDEX`).

    Returns:
        `dict`: `input_ids` (`list[int]`), `first_token_positions` (`list[int]`, one index into `input_ids` per
        word) and, with `word_labels`, `labels` (`list[int]` as long as `input_ids`: the word's label on its first
        sub-token, `IGNORE_INDEX` elsewhere).

    Raises:
        ValueError: `word_labels` and `word_pieces` differ in length.
    """
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
# Windows
# ---------------------------------------------------------------------------------------------------------------
def split_into_windows(token_counts: list[int], budget: int) -> list[tuple[int, int]]:
    """Cover words `[0, n)` with windows of at most `budget` tokens each.

    One window when all fits; otherwise consecutive windows overlap by about half, so that every word is also seen
    with context on both sides (see `assign_words_to_windows`). A single word longer than the budget gets a window
    of its own (its first sub-token, which carries its label, is always kept).

    Args:
        token_counts (`list[int]`): Tokens per word.
        budget (`int`): Tokens per window.

    Returns:
        `list[tuple[int, int]]`: `(first, last)` word indices of each window, `last` exclusive.

    Raises:
        ValueError: `budget` is not positive.
    """
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
    """For each of `total` words, the index of the window in which it is farthest from an edge (its best context)."""
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


@dataclass
class Window:
    """One model input's words: a stretch of one sentence, and the words whose labels it decides."""

    first_word: int  # index into the text's words
    last_word: int  # exclusive
    owned_words: list[int]  # indices into the text's words, each owned by exactly one window


def sentence_windows(token_counts: list[int], sentences: list[tuple[int, int]], budget: int) -> list[Window]:
    """Windows over the words of each sentence (`split_into_windows`), each owning the words it labels best
    (`assign_words_to_windows`); no window crosses a sentence end.

    Args:
        token_counts: the number of tokens of each word of the text.
        sentences: `(first, last)` word indices of each sentence, `last` exclusive.
        budget: the most word tokens a window holds.

    Returns:
        `list[Window]`: the windows, sentence by sentence, in order; every word is owned by one of them.
    """
    windows = []
    for first, last in sentences:
        local = split_into_windows(token_counts[first:last], budget)
        owners = assign_words_to_windows(local, last - first)
        for window_index, (start, stop) in enumerate(local):
            owned = [first + word for word, owner in enumerate(owners) if owner == window_index]
            windows.append(Window(first + start, first + stop, owned))
    return windows


@dataclass
class Row:
    """One model input: one window of one sentence of one text, with the entity types its forward tags."""

    text_index: int
    # {index into the call's entity types: index into the logits' type axis}: one entry for a per-type row (whose
    # logits have no type axis: head 0), one per type asked for in a one-pass row
    heads: dict[int, int]
    window_index: int  # index into the text's list of windows
    input_ids: list[int]
    first_token_positions: list[int]

    @property
    def type_index(self) -> int:
        """The entity type of a per-type row (its index in the call's entity types).

        Raises:
            ValueError: a row that tags several types (a one-pass row: read `heads`).
        """
        if len(self.heads) != 1:
            raise ValueError(f"this row tags {len(self.heads)} entity types: read its heads")
        return next(iter(self.heads))


def window_rows(instructions: list[tuple[list[int], dict[int, int]]], pieces, windows: list[Window]) -> list[Row]:
    """The model inputs of one text: one row per instruction and window.

    Args:
        instructions: `(instruction ids, heads)` per row a window gets (`Row.heads`): one per type asked for
            (per-type model), or one naming no type (one-pass model).
        pieces (`list[list[int]]`): The text's word token ids (`encode_words`).
        windows (`list[Window]`): The text's windows (`sentence_windows`).

    Returns:
        `list[Row]`: instruction by instruction, window by window; `text_index` 0 (the caller's to set).
    """
    rows = []
    for instruction_ids, heads in instructions:
        for window_index, window in enumerate(windows):
            row = build_input(instruction_ids, pieces[window.first_word : window.last_word])
            rows.append(Row(0, heads, window_index, row["input_ids"], row["first_token_positions"]))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# IOB2 spans
# ---------------------------------------------------------------------------------------------------------------
def entity_spans(labels: list[int]) -> list[tuple[int, int]]:
    """Entity word spans of an O/B/I label sequence; an I without a B before it starts an entity.

    Args:
        labels (`list[int]`): `LABEL_O`, `LABEL_B` or `LABEL_I` per word.

    Returns:
        `list[tuple[int, int]]`: `(first, last)` word indices of each entity, `last` exclusive.
    """
    spans, start = [], None
    for index, label in enumerate(list(labels) + [LABEL_O]):
        if start is not None and label != LABEL_I:
            spans.append((start, index))
            start = None
        if label == LABEL_B or (label == LABEL_I and start is None):
            start = index
    return spans


def spans_to_labels(spans: list[tuple[int, int]], length: int) -> list[int]:
    """The O/B/I labels of `length` words with the given non-overlapping entity spans (inverse of `entity_spans`)."""
    labels = [LABEL_O] * length
    for first, last in spans:
        labels[first] = LABEL_B
        labels[first + 1 : last] = [LABEL_I] * (last - first - 1)
    return labels


# ---------------------------------------------------------------------------------------------------------------
# Span hygiene
# ---------------------------------------------------------------------------------------------------------------
BRACKET_RULES = ("keep", "split", "extend", "drop")
# The rule chosen on the dev splits of NCBI-disease, BC5CDR-chem, BC2GM, JNLPBA and s800
# (`benchmarks/span_hygiene.py`, benchmarks/results/span_hygiene.json).
DEFAULT_BRACKET_RULE = "drop"
DEFAULT_EDGE_WORDS = frozenset({",", "-"})
LETTER_OR_DIGIT = regex.compile(r"[\p{L}\p{N}]")


def tidy_spans(
    words: list[str],
    spans: list[tuple[int, int]],
    brackets: str = DEFAULT_BRACKET_RULE,
    edge_words: frozenset = DEFAULT_EDGE_WORDS,
    breaks=(),
    break_rule: str = DEFAULT_BREAK_RULE,
) -> list[tuple[int, int]]:
    """Entity spans of one sentence without broken brackets or stray edge punctuation, none across a break.

    First, a span across a break (a tab, a line break or a markup tag: `split_raw_words`) is dropped for
    `break_rule` "drop", else cut at it (after "decode" and "sentence" none crosses one). A word-level tagger can
    cut an entity inside a bracket pair ("chloramphenicol acetyltransferase (", "CAT) gene"). `brackets` says what
    becomes of a span holding a bracket without its partner: "keep" it as it is; "split" it at each such bracket
    (the bracket itself dropped); "extend" it to the partner when the sentence holds it (else split); "drop" the
    span. Then words in `edge_words` are trimmed from both ends, and spans left with no letter
    or digit are dropped. Overlapping results are merged. The defaults are the rule chosen on dev data.

    Args:
        words (`list[str]`): The words of the sentence.
        spans (`list[tuple[int, int]]`): Entity spans `(first, last)` over `words`, `last` exclusive, not
            overlapping.
        brackets (`str`): One of `BRACKET_RULES`.
        edge_words (`frozenset[str]`): Words that may not begin or end an entity.
        breaks (`Iterable[int]`): The words no entity continues into from the word before.
        break_rule (`str`): One of `BREAK_RULES`.

    Returns:
        `list[tuple[int, int]]`: the tidied spans, sorted and not overlapping.

    Raises:
        ValueError: `brackets` is not one of `BRACKET_RULES`, or `break_rule` not one of `BREAK_RULES`.
    """
    if brackets not in BRACKET_RULES:
        raise ValueError(f"brackets must be one of {BRACKET_RULES}, got {brackets!r}")
    if break_rule not in BREAK_RULES:
        raise ValueError(f"break_rule must be one of {BREAK_RULES}, got {break_rule!r}")
    if breaks:
        spans = cut_at_breaks(spans, breaks, drop=break_rule == "drop")
    partners = bracket_partners(words) if spans else {}
    pieces = []
    for first, last in spans:
        inside = range(first, last)
        # the brackets whose partner is missing or outside the span
        unbalanced = [i for i in inside if words[i] in BRACKETS and partners.get(i) not in inside]
        if brackets == "keep":
            unbalanced = []
        elif brackets == "drop" and unbalanced:
            continue
        if brackets == "extend":
            for index in unbalanced:
                if index in partners:
                    first, last = min(first, partners[index]), max(last, partners[index] + 1)
            unbalanced = [index for index in unbalanced if index not in partners]
        cuts = [first - 1, *unbalanced, last]
        pieces += [(start + 1, stop) for start, stop in zip(cuts, cuts[1:]) if stop > start + 1]
    if breaks and brackets == "extend":  # extended to a partner across a break
        pieces = cut_at_breaks(pieces, breaks, drop=break_rule == "drop")
    tidied = []
    for first, last in sorted(pieces):
        while first < last and words[first] in edge_words:
            first += 1
        while first < last and words[last - 1] in edge_words:
            last -= 1
        if not any(LETTER_OR_DIGIT.search(word) for word in words[first:last]):
            continue
        if tidied and first < tidied[-1][1]:  # overlaps the previous one (after "extend"): merge
            tidied[-1] = (tidied[-1][0], max(last, tidied[-1][1]))
        else:
            tidied.append((first, last))
    return tidied


def cut_at_breaks(spans: list[tuple[int, int]], breaks, drop: bool = False) -> list[tuple[int, int]]:
    """Word spans (entities, sentences) with none across a break: each one across cut there, or left out with
    `drop`.

    Args:
        spans (`list[tuple[int, int]]`): `(first, last)` word spans, `last` exclusive.
        breaks (`Iterable[int]`): Word indices that no span may continue into from the word before.
        drop (`bool`): Leave out a span across a break instead of cutting it.

    Returns:
        `list[tuple[int, int]]`: the spans, in their order.
    """
    breaks = sorted(breaks)
    result = []
    for first, last in spans:
        inside = breaks[bisect.bisect_right(breaks, first) : bisect.bisect_left(breaks, last)]
        if not inside:
            result.append((first, last))
        elif not drop:
            cuts = [first, *inside, last]
            result += list(zip(cuts, cuts[1:]))
    return result
