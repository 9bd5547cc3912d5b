"""VANER decoding: from each word's O/B/I probabilities to IOB2 word labels and entity spans.

Self-contained (torch, plus its siblings `processing_vaner.py` and `text_vaner.py`) so that it is copied to a Hub
repository beside the pipeline, which imports it; evaluation and the benchmarks decode through the same functions.
"""

import bisect
import math

import torch

from .processing_vaner import IOB2_LABELS, LABEL_B, LABEL_I, LABEL_O, NUM_LABELS, entity_spans, tidy_spans
from .text_vaner import DEFAULT_BREAK_RULE

# In IOB2 an I continues an entity: it never follows an O nor starts a sentence.
VALID_PREVIOUS_LABELS = {
    LABEL_O: (LABEL_O, LABEL_B, LABEL_I),
    LABEL_B: (LABEL_O, LABEL_B, LABEL_I),
    LABEL_I: (LABEL_B, LABEL_I),
}


def viterbi_labels(probabilities: torch.Tensor, breaks=()) -> list[int]:
    """The most probable word labels among valid IOB2 sequences. The labels are scored word by word, so the
    per-word argmax can break an entity ("O I I", "B O I"); choosing the best valid sequence repairs those
    fragments. Plain Python: 3 labels per word is too small for tensor ops to pay.

    Args:
        probabilities: `(words, 3)` float tensor of O/B/I probabilities.
        breaks: indices of words that may not be I (no entity continues into them), like the first word.

    Returns:
        `list[int]`: one label (0=O, 1=B, 2=I) per word.
    """
    log_probabilities = probabilities.float().clamp_min(1e-12).log().tolist()
    if not log_probabilities:
        return []
    labels = range(NUM_LABELS)
    score = list(log_probabilities[0])
    score[LABEL_I] = -math.inf
    back_pointers = []
    for index, word in enumerate(log_probabilities[1:], start=1):
        previous = [max(VALID_PREVIOUS_LABELS[label], key=score.__getitem__) for label in labels]
        score = [score[previous[label]] + word[label] for label in labels]
        if index in breaks:
            score[LABEL_I] = -math.inf
        back_pointers.append(previous)
    path = [max(labels, key=score.__getitem__)]
    for previous in reversed(back_pointers):
        path.append(previous[path[-1]])
    return path[::-1]


def decode_labels(probabilities: torch.Tensor, decoding: str, breaks=()) -> tuple[list[int], list[float]]:
    """Word labels by `decoding`, and each word's probability of its label.

    Args:
        probabilities: `(words, 3)` float tensor of O/B/I probabilities.
        decoding: "viterbi" (valid IOB2, the default) or "argmax" (each word on its own).
        breaks: indices of words that may not be I: Viterbi chooses the best sequence without, argmax makes them B.

    Returns:
        `(labels, scores)`: two lists of one value per word.
    """
    breaks = frozenset(breaks)
    if decoding == "viterbi":
        labels = viterbi_labels(probabilities, breaks)
    else:
        labels = probabilities.argmax(-1).tolist() if len(probabilities) else []
        labels = [LABEL_B if label == LABEL_I and index in breaks else label for index, label in enumerate(labels)]
    scores = [float(probabilities[index, label]) for index, label in enumerate(labels)]
    return labels, scores


def decode_entities(
    probabilities: torch.Tensor,
    words: list[str],
    decoding: str,
    breaks=(),
    break_rule: str = DEFAULT_BREAK_RULE,
    markup=(),
) -> list[tuple[int, int, float]]:
    """The entities of one sentence and type: word labels by `decoding`, spans tidied by `tidy_spans` (no broken
    brackets, no edge comma or hyphen, none across a break: the rules chosen on dev data), each scored by the mean
    of its words' label probabilities.

    Args:
        probabilities: `(words, 3)` float tensor of O/B/I probabilities.
        words: the sentence's words (what `tidy_spans` reads).
        decoding: see `decode_labels`.
        breaks: indices of the words no entity continues into (a tab, a line break or a markup tag before them:
            `text_vaner.split_raw_words`).
        break_rule: what becomes of an entity across a break (`text_vaner.BREAK_RULES`); "decode" decodes
            with no I at a break.
        markup: those of `breaks` made by markup tags alone: decoded with no I there whatever `break_rule` says.

    Returns:
        `list[tuple[int, int, float]]`: `(first word, last word exclusive, score)` per entity, in order.
    """
    labels, scores = decode_labels(probabilities, decoding, breaks if break_rule == "decode" else markup)
    spans = tidy_spans(words, entity_spans(labels), breaks=breaks, break_rule=break_rule)
    return [(first, last, sum(scores[first:last]) / (last - first)) for first, last in spans]


def decode_text_entities(
    probabilities: torch.Tensor,
    sentences: list[tuple[int, int]],
    words: list[str],
    decoding: str,
    breaks=(),
    break_rule: str = DEFAULT_BREAK_RULE,
    markup=(),
) -> list[tuple[int, int, float]]:
    """`decode_entities` sentence by sentence over a whole text: no entity crosses a sentence end.

    Args:
        probabilities: `(words, 3)` float tensor of the text's O/B/I probabilities.
        sentences: `(first, last)` word indices of each sentence, `last` exclusive.
        words: the text's words (what the model read).
        decoding, break_rule: as in `decode_entities`.
        breaks, markup: sorted word indices over the whole text, as in `decode_entities`.

    Returns:
        `list[tuple[int, int, float]]`: `(first word, last word exclusive, score)` per entity, word indices of the
        text, in order.
    """
    found = []
    for sentence_first, sentence_last in sentences:
        sentence_breaks, sentence_markup = (
            [index - sentence_first for index in _within(indices, sentence_first, sentence_last)]
            for indices in (breaks, markup)
        )
        for first, last, score in decode_entities(
            probabilities[sentence_first:sentence_last],
            words[sentence_first:sentence_last],
            decoding,
            sentence_breaks,
            break_rule,
            sentence_markup,
        ):
            found.append((sentence_first + first, sentence_first + last, score))
    return found


def _within(indices, first: int, last: int) -> tuple[int, ...]:
    """The sorted `indices` strictly after `first` and before `last` (a sentence's breaks: one at its first word
    breaks nothing)."""
    return tuple(indices[bisect.bisect_right(indices, first) : bisect.bisect_left(indices, last)])


def word_entity_dicts(entity_type: str, first: int, last: int, probabilities, spans, words) -> list[dict]:
    """The words `first`..`last` (exclusive) of one entity as transformers' per-token dicts
    (`aggregation_strategy="none"`): B then I's, each with its probability of that label.

    Args:
        entity_type: the entity's type.
        first, last: its word indices, `last` exclusive.
        probabilities: `(words, 3)` float tensor of the text's O/B/I probabilities.
        spans: `(start, end)` characters of each word of the text.
        words: each word as it stands in the text.

    Returns:
        `list[dict]`: `{"entity": "B-<type>" or "I-<type>", "score", "index", "word", "start", "end"}` per word.
    """
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
