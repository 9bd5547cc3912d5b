"""VANER text: words, sentences, and raw text's markup and layout, without torch.

Self-contained (transformers' own dependency `regex` only) so that it can be copied to a Hub repository beside
the pipeline, which imports it. The one implementation of what a word and a sentence
are for inference, training, evaluation and DBR, so that the model reads the same words everywhere.
"""

import html
import itertools
from typing import NamedTuple

import regex

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
