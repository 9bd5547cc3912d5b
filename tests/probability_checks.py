"""Word probabilities of two pipelines on the same sentences: what the precision tests (int8 against fp32,
an ONNX file against torch) compare."""

import torch


def compare_word_probabilities(reference, other, sentences, entity_types, margin: float = 0.2):
    """Run both pipelines' `word_probabilities` on `sentences` (lists of words) for every type.

    Returns:
        `(differences, kept, clear)`: |p_reference - p_other| as one (words x 3) tensor over all sentences and
        types; how many words whose reference label is clear (top probability above the second by more than
        `margin`) keep that label in `other`; and how many are clear.
    """
    differences, kept, clear = [], 0, 0
    for entity_type in entity_types:
        expected = reference.word_probabilities(sentences, entity_type)
        actual = other.word_probabilities(sentences, entity_type)
        for reference_words, other_words in zip(expected, actual):
            differences.append((reference_words - other_words).abs())
            top = reference_words.topk(2, dim=-1)
            is_clear = top.values[:, 0] - top.values[:, 1] > margin
            clear += int(is_clear.sum())
            kept += int((is_clear & (top.indices[:, 0] == other_words.argmax(-1))).sum())
    return torch.cat(differences), kept, clear


def assert_int8_stays_near(differences, kept: int, clear: int):
    """int8 against fp32, from `compare_word_probabilities`: the probabilities differ by at most 0.01 on average and
    by more than 0.1 for at most 2% of the words, and at least 99% of the clear fp32 labels (over 100 of them) are
    kept. A bound on the largest difference is left out: one borderline word decides it, and it moves with the
    model (0.18-0.51 across vaner-smol 2 and 3). 2% and not 1%: the share is of a few hundred word-type pairs, so a
    handful of borderline words decide it too (the measurements: the callers' docstrings, docs/RESULTS.md)."""
    moved = float((differences.max(dim=-1).values > 0.1).float().mean())
    assert differences.mean() <= 0.01 and moved <= 0.02, (float(differences.mean()), moved)
    assert kept >= 0.99 * clear and clear > 100, (kept, clear)
