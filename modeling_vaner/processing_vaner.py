"""VANER text processing: words, sentences, word encoding, windows and IOB2 spans, without torch.

Self-contained (transformers' own dependencies only: `regex`, `tokenizers`) so that it can be copied to a Hub
repository beside the pipeline, which imports it. It is the single implementation that inference, training,
evaluation and DBR use, so that the model sees the same inputs at training and at inference.
"""

import bisect
import html
import itertools
import unicodedata
from typing import NamedTuple

import regex

IOB2_LABELS = ("O", "B", "I")  # the head's classes, in order: outside, begins an entity, inside one
LABEL_O, LABEL_B, LABEL_I = range(len(IOB2_LABELS))
NUM_LABELS = len(IOB2_LABELS)
IGNORE_INDEX = -100

# Words as the corpora tokenize them: runs of word characters, and every other non-space character on its own.
# `regex`'s \w is Unicode's (UTS #18: letters, combining marks, decimal digits, connector punctuation, joiners),
# so an accent written as a combining character ("Me\u0301nie\u0300re", common in text copied from PDFs) or a
# zero-width joiner stays inside its word; a symbol keeps its own marks ("\u2665\ufe0f").
WORD_PATTERN = regex.compile(r"\w+|[^\w\s]\p{M}*")

SENTENCE_END_WORDS = frozenset({".", "!", "?"})
OPENING_BRACKETS = {"(": ")", "[": "]", "{": "}"}
CLOSING_BRACKETS = {closing: opening for opening, closing in OPENING_BRACKETS.items()}
BRACKETS = frozenset(OPENING_BRACKETS) | frozenset(CLOSING_BRACKETS)
PARAGRAPH_BREAK = regex.compile(r"\n\s*\n")
# Words that a period after them abbreviates rather than ends a sentence (case-insensitive), as they occur in
# biomedical abstracts: figures and references, Latin, approximations, and taxonomic ranks ("sp. nov.", "pv.").
# "et al." is left out on purpose: followed by a capitalised word it ends a sentence as often as not.
ABBREVIATIONS = frozenset(
    "fig figs eq eqs ref refs no nos vol approx ca cf vs viz e.g i.e sp spp subsp ssp var pv cv str nov gen"
    " comb".split()
)
# Dotted initials ("e.g", "i.e", "U.S") abbreviate too.
DOTTED_INITIALS = regex.compile(r"(?:\p{L}\.)+\p{L}")
# A single capital letter is a genus initial ("with S. Typhimurium") only after one of these words (or a bracket or
# comma): after a name ("NF-kappa B.", "protein kinase C.", "cytochalasin D.") it ends the name and the sentence.
INITIAL_CONTEXT_WORDS = frozenset(
    "with of in and or by from to the a an for on against between than as both including e.g i.e ( [ ,".split()
)


# ---------------------------------------------------------------------------------------------------------------
# Words and sentences
# ---------------------------------------------------------------------------------------------------------------
def split_words(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of `text` (see `WORD_PATTERN`).

    Args:
        text (`str`): Any text.

    Returns:
        `list[tuple[int, int]]`: one `(start, end)` per word, in characters, with `text[start:end]` the word.
    """
    return [match.span() for match in WORD_PATTERN.finditer(text)]


def word_strings(text: str) -> list[str]:
    """The words of `text` as strings ("IL-2 receptor" -> ["IL", "-", "2", "receptor"])."""
    return WORD_PATTERN.findall(text)


def bracket_partners(words: list[str]) -> dict[int, int]:
    """Each bracket word closed by its own kind, mapped to its partner (both ways). A stray bracket, common in
    abstracts, has none: it must neither hide every later sentence end nor pair with the wrong bracket."""
    partners, stack = {}, []
    for index, word in enumerate(words):
        if word in OPENING_BRACKETS:
            stack.append(index)
        elif word in CLOSING_BRACKETS:
            while stack and words[stack[-1]] != CLOSING_BRACKETS[word]:
                stack.pop()  # an unclosed bracket inside this pair
            if stack:
                opening = stack.pop()
                partners[opening], partners[index] = index, opening
    return partners


def _inside_brackets(words: list[str]) -> list[bool]:
    """For each word, whether it lies inside a pair of brackets."""
    change = [0] * (len(words) + 1)
    for opening, closing in bracket_partners(words).items():
        if opening < closing:
            change[opening + 1] += 1
            change[closing] -= 1
    return [depth > 0 for depth in itertools.accumulate(change[:-1])]


def _abbreviation_before(text: str, spans: list[tuple[int, int]], words: list[str], period: int) -> bool:
    """Whether the period that is word `period` follows an abbreviation: a known one ("Fig.", "e.g."), dotted
    initials, or a genus initial ("S.") after a word of `INITIAL_CONTEXT_WORDS`."""
    start = spans[period][0]
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    stem = text[start : spans[period][0]].lstrip("([{\"'\u2018\u201c")
    if stem.casefold() in ABBREVIATIONS or DOTTED_INITIALS.fullmatch(stem):
        return True
    if len(stem) != 1 or not stem.isupper():
        return False
    return period < 2 or words[period - 2].casefold() in INITIAL_CONTEXT_WORDS


def split_sentences(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentences of `text` as word-index ranges.

    A sentence ends at a paragraph break (a blank line, or a block tag such as `<p>` or `</td>`: `BLOCK_TAGS`), or
    after ".", "!" or "?" followed by white space and a word that starts with a capital letter or a digit, unless
    the period follows an abbreviation (`ABBREVIATIONS`, dotted initials as in "e.g.", a genus initial as in "with
    S. Typhimurium") or sits inside a pair of brackets. Measured against real sentence ends in
    `benchmarks/sentence_splitting.py`.

    Args:
        text (`str`): The text.
        spans (`list[tuple[int, int]]`): Its words, as given by `split_words(text)` or `split_raw_words(text).spans`.

    Returns:
        `list[tuple[int, int]]`: `(first, last)` word indices of each sentence, `last` exclusive, covering every
        word in order.
    """
    # a blank line, or a block tag (paragraph, heading, list item, cell); `split_words`'s words hold the tags, so
    # that a tag there is never between two words and changes nothing
    block_tags = [tag.start() for tag in MARKUP_TAG.finditer(text) if (tag["name"] or "").casefold() in BLOCK_TAGS]
    breaks = sorted([match.start() for match in PARAGRAPH_BREAK.finditer(text)] + block_tags)
    words = [text[start:end] for start, end in spans]
    inside = _inside_brackets(words)
    sentences, first, next_break = [], 0, 0
    for index in range(1, len(spans)):
        previous_end, start = spans[index - 1][1], spans[index][0]
        while next_break < len(breaks) and breaks[next_break] < previous_end:
            next_break += 1
        paragraph = next_break < len(breaks) and breaks[next_break] < start
        ends_sentence = (
            words[index - 1] in SENTENCE_END_WORDS
            and _is_blank(text[previous_end:start])
            and (text[start].isupper() or text[start].isdigit())
            and not inside[index - 1]
            and not (words[index - 1] == "." and _abbreviation_before(text, spans, words, index - 1))
        )
        if ends_sentence or paragraph:
            sentences.append((first, index))
            first = index
    if spans:
        sentences.append((first, len(spans)))
    return sentences


# ---------------------------------------------------------------------------------------------------------------
# Raw text: markup and layout (inference only: the corpora are pre-tokenized text without either)
# ---------------------------------------------------------------------------------------------------------------
# HTML/XML markup, which is never part of a word: comments, declarations and processing instructions, and start or
# end tags. A tag's name follows "<" at once and every attribute has a value, so that "p < 0.05", "<or= 65 years"
# and "x<y and z>w" stay text.
MARKUP_TAG = regex.compile(
    r"""<!--.*?-->|<[!?][A-Za-z\[][^<>]*>"""
    r"""|</?(?P<name>[A-Za-z][\w:.-]*)(?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>=`]+))*\s*/?>""",
    regex.DOTALL,
)
# Tags that end a block of text, like a blank line: HTML's and JATS XML's paragraphs, headings, list items, cells.
BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 head"
    " header hr li main nav ol p pre section table tbody td tfoot th thead title tr ul"
    " abstract article-title fig list-item sec table-wrap".split()
)
# A character reference ("&beta;", "&#946;", "&amp;"): one word, read by the model as the character it stands for.
CHARACTER_REFERENCE = regex.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
RAW_WORD_PATTERN = regex.compile(f"{CHARACTER_REFERENCE.pattern}|{WORD_PATTERN.pattern}")
WORD_CHARACTER = regex.compile(r"\w")
# Tabs and line breaks (those of `str.splitlines`): entities never cross them, except a word hyphenated at a line end.
LAYOUT_BREAK = regex.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]")
# A hyphen at a line end: hyphen-minus, Unicode's hyphen, the soft hyphen; then one line break (a blank line is a
# paragraph), white space around it allowed.
LINE_END_HYPHENS = frozenset({"-", "\u2010", "\u00ad"})
_SPACE_IN_A_LINE = r"[^\S\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]*"
HYPHEN_LINE_END = regex.compile(rf"{_SPACE_IN_A_LINE}(?:\r\n|[\n\v\f\r\x85\u2028]){_SPACE_IN_A_LINE}")
# What a word hyphenated at a line end ("muscu-\nlus", "hydroxy-\nchloroquine", "IL-\n2") becomes for the model:
# "keep": the halves and the hyphen stay three words, as in a compound ("hydroxy - chloroquine"); "join": one word
# without the hyphen ("musculus"); "guess": joined between two lower-case letters (a typesetter's hyphen), kept
# otherwise ("IL-\n2", "5-\nfluorouracil"); a soft hyphen is always joined. Either way the line break does not end
# an entity there.
HYPHEN_RULES = ("keep", "join", "guess")
# What a break (a tab, a line break or a markup tag between two words) does to an entity across it: "cut" it there;
# "drop" it; "decode": no I label right after a break, so the decoder chooses the best labels on each side;
# "sentence": the break ends a sentence, so the model reads the text on each side apart. Apart from "sentence", a
# break made by markup alone is always decoded apart: an author's element ends there ("<span>BRCA1</span> gene"),
# where a line of wrapped text ends anywhere.
BREAK_RULES = ("cut", "drop", "decode", "sentence")
# The rules chosen on dev text wrapped at 70 characters (`benchmarks/line_layout.py`,
# benchmarks/results/line_layout_dev.json: mean F1 over four corpora 84.60 for these, 84.50 with "join", 83.80 with
# "keep"; "drop" beats "cut" by 4 points, as a cut leaves two wrong pieces of an entity the line broke).
DEFAULT_HYPHEN_RULE = "guess"
DEFAULT_BREAK_RULE = "drop"


class RawWords(NamedTuple):
    """The words of a raw text as the pipeline reads them (`split_raw_words`)."""

    spans: list[tuple[int, int]]  # `(start, end)` of each word in the text
    words: list[str]  # what the model reads for each word
    breaks: tuple[int, ...]  # sorted indices of the words that an entity may not continue into from the word before
    markup: tuple[int, ...]  # those of `breaks` made by markup tags alone (no tab or line break)


def split_raw_words(text: str, hyphens: str = DEFAULT_HYPHEN_RULE) -> RawWords:
    """The words of text as it comes (from web pages, XML, tables, PDFs), for the pipeline.

    Words are those of `split_words`, except that markup tags (`MARKUP_TAG`) are no words at all and that a
    character reference ("&beta;") is one word, which the model reads as its character ("β"; one that stands for
    white space, "&nbsp;", is white space). A word hyphenated at a line end ("muscu-\\nlus") becomes what
    `hyphens` says (`HYPHEN_RULES`). A tab, a line break or a markup tag between two words is a break: no entity
    continues across it (see `BREAK_RULES`), except the line break of a word hyphenated at a line end.

    Args:
        text (`str`): Any text.
        hyphens (`str`): One of `HYPHEN_RULES` (default: the rule chosen on dev data).

    Returns:
        `RawWords`: `spans` (with `text[start:end]` each word as it stands in the text, a joined hyphenated word
        with its hyphen and line break), `words` (what the model reads), `breaks` and, among them, `markup`.

    Raises:
        ValueError: `hyphens` is not one of `HYPHEN_RULES`.
    """
    if hyphens not in HYPHEN_RULES:
        raise ValueError(f"hyphens must be one of {HYPHEN_RULES}, got {hyphens!r}")
    spans, words, references = [], [], []  # references: whether each word holds a character reference
    position = 0
    for tag in itertools.chain(MARKUP_TAG.finditer(text), [None]):
        stop = tag.start() if tag is not None else len(text)
        for match in RAW_WORD_PATTERN.finditer(text, position, stop):
            start, end, word, reference = *match.span(), match.group(), False
            if CHARACTER_REFERENCE.fullmatch(word):
                character = html.unescape(word)
                if character.isspace():
                    continue
                word, reference = character, character != word  # an unknown name stays as it is written
            # a character reference touching a word ("&alpha;1", "&Delta;F508") is part of it
            touching = spans and spans[-1][1] == start and (reference or references[-1])
            if touching and WORD_CHARACTER.match(words[-1][-1]) and WORD_CHARACTER.match(word[0]):
                spans[-1], words[-1], references[-1] = (spans[-1][0], end), words[-1] + word, True
            elif not reference and word.startswith("&") and len(word) > 1:  # "&foo;": its words as in any text
                for piece in WORD_PATTERN.finditer(text, start, end):
                    spans.append(piece.span())
                    words.append(piece.group())
                    references.append(False)
            else:
                spans.append((start, end))
                words.append(word)
                references.append(reference)
        position = tag.end() if tag is not None else stop
    return _join_line_end_hyphens(text, spans, words, hyphens)


def _join_line_end_hyphens(text: str, spans: list, words: list, hyphens: str) -> RawWords:
    """`RawWords` from `split_raw_words`'s words: hyphenated line ends handled by `hyphens`, then the breaks."""
    joined_spans, joined_words, continued = [], [], set()  # continued: words that continue across a line end
    index = 0
    while index < len(spans):
        if joined_spans and index + 1 < len(spans) and _line_end_hyphen(text, joined_spans[-1], spans, words, index):
            first, second = joined_words[-1], words[index + 1]
            lower_case = first[-1].islower() and second[0].islower()
            if hyphens == "join" or words[index] == "\u00ad" or (hyphens == "guess" and lower_case):
                joined_spans[-1] = (joined_spans[-1][0], spans[index + 1][1])
                joined_words[-1] = first + second
            else:
                joined_spans += spans[index : index + 2]
                joined_words += words[index : index + 2]
                continued.add(len(joined_spans) - 1)
            index += 2
            continue
        joined_spans.append(spans[index])
        joined_words.append(words[index])
        index += 1
    kinds = {
        index: _break_kind(text[joined_spans[index - 1][1] : joined_spans[index][0]])
        for index in range(1, len(joined_spans))
        if index not in continued
    }
    breaks = tuple(index for index, kind in kinds.items() if kind is not None)
    markup = tuple(index for index, kind in kinds.items() if kind == "markup")
    return RawWords(joined_spans, joined_words, breaks, markup)


def _line_end_hyphen(text: str, previous: tuple[int, int], spans: list, words: list, index: int) -> bool:
    """Whether word `index` is a hyphen that ends a line inside a word: it touches the word before (`previous`),
    the next word starts the next line, and both end or start with a word character."""
    (start, end), (next_start, _) = spans[index], spans[index + 1]
    return (
        words[index] in LINE_END_HYPHENS
        and previous[1] == start
        and HYPHEN_LINE_END.fullmatch(text, end, next_start) is not None
        and WORD_CHARACTER.match(text, previous[1] - 1) is not None
        and WORD_CHARACTER.match(text, next_start) is not None
    )


def _is_blank(gap: str) -> bool:
    """Whether the text between two words is white space (with markup tags and character references of white space
    in it, as `split_raw_words` leaves them between words)."""
    return CHARACTER_REFERENCE.sub(" ", MARKUP_TAG.sub(" ", gap)).isspace()


def _break_kind(gap: str) -> str | None:
    """What the text between two words makes of them (`split_raw_words`): "layout" (it holds a tab or a line
    break), "markup" (a markup tag, no tab nor line break) or None (no break)."""
    if gap == " " or not gap:  # nearly every gap: no regex needed
        return None
    if LAYOUT_BREAK.search(html.unescape(gap)) is not None:
        return "layout"
    return "markup" if MARKUP_TAG.search(gap) is not None else None


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
