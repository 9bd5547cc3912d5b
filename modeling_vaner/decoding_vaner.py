"""VANER decoding: from each word's O/B/I probabilities to IOB2 word labels and entity spans.

Self-contained (torch, plus its sibling `processing_vaner.py`) so that it is copied to a Hub repository beside the
pipeline, which imports it; evaluation and the benchmarks decode through the same functions.
"""

import math

import torch

from .processing_vaner import (
    DEFAULT_BREAK_RULE,
    LABEL_B,
    LABEL_I,
    LABEL_O,
    NUM_LABELS,
    entity_spans,
    tidy_spans,
)

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
            `processing_vaner.split_raw_words`).
        break_rule: what becomes of an entity across a break (`processing_vaner.BREAK_RULES`); "decode" decodes
            with no I at a break.
        markup: those of `breaks` made by markup tags alone: decoded with no I there whatever `break_rule` says.

    Returns:
        `list[tuple[int, int, float]]`: `(first word, last word exclusive, score)` per entity, in order.
    """
    labels, scores = decode_labels(probabilities, decoding, breaks if break_rule == "decode" else markup)
    spans = tidy_spans(words, entity_spans(labels), breaks=breaks, break_rule=break_rule)
    return [(first, last, sum(scores[first:last]) / (last - first)) for first, last in spans]
