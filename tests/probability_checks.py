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
