"""How well does the pipeline find sentence ends? Entities never cross a sentence, so a wrong boundary costs entities.
Reference: the GENIA dev abstracts (JNLPBA's shared-task dev file, MEDLINE text; the one file here marking
abstracts), joined back into text with their sentence breaks kept as the truth. Candidates, in ONE run: the rule
before 2026-11-30 (kept here as the baseline), today's `text_vaner.split_sentences`, and, when installed, the
splitters pysbd and syntok.
For each: boundaries found, missed and spurious, and milliseconds per abstract.

Usage: python benchmarks/sentence_splitting.py [--out benchmarks/results/sentence_splitting.json]
(pip install pysbd syntok to measure them too; a few seconds without them)
"""

import argparse
import json
import re
import time
from pathlib import Path

from dataset_scripts.corpora import default_corpora_dir, genia_dev_abstracts
from modeling_vaner.text_vaner import split_sentences, split_words

REPO = Path(__file__).resolve().parents[1]
NO_SPACE_BEFORE = {".", ",", ";", ":", ")", "]", "%", "?", "!"}
NO_SPACE_AFTER = {"(", "["}


def detokenize(sentences: list[list[str]]) -> tuple[str, list[int]]:
    """The text of an abstract from its tokenized sentences (no space before closing punctuation, none after an
    opening bracket), and the character offset where each sentence after the first starts."""
    text, starts = "", []
    for index, tokens in enumerate(sentences):
        if index:
            text += " "
            starts.append(len(text))
        for position, token in enumerate(tokens):
            if position and token not in NO_SPACE_BEFORE and tokens[position - 1] not in NO_SPACE_AFTER:
                text += " "
            text += token
    return text, starts


def previous_rule(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The pipeline's rule until 2026-11-30: a sentence ends after '.', '!' or '?' followed by white space and a
    capital letter or digit, or at a blank line."""
    breaks = {match.start() for match in re.finditer(r"\n\s*\n", text)}
    sentences, first = [], 0
    for index in range(1, len(spans)):
        previous_end, start = spans[index - 1][1], spans[index][0]
        gap = text[previous_end:start]
        ends = (
            text[spans[index - 1][0] : previous_end] in {".", "!", "?"}
            and gap.strip() == ""
            and gap != ""
            and (text[start].isupper() or text[start].isdigit())
        )
        if ends or any(previous_end <= position < start for position in breaks):
            sentences.append((first, index))
            first = index
    if spans:
        sentences.append((first, len(spans)))
    return sentences


def word_rule(rule):
    def boundaries(text: str) -> set[int]:
        spans = split_words(text)
        return {spans[first][0] for first, _ in rule(text, spans)[1:]}

    return boundaries


def library_splitters() -> dict:
    """Boundary finders of the installed splitter libraries (character offsets of each sentence start after the
    first, white space skipped)."""
    splitters = {}
    try:
        import pysbd

        segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
        splitters["pysbd"] = lambda text: {
            span.start + len(span.sent) - len(span.sent.lstrip()) for span in segmenter.segment(text)[1:]
        }
    except ImportError:
        pass
    try:
        from syntok import segmenter as syntok_segmenter

        def syntok_boundaries(text: str) -> set[int]:
            starts = [sentence[0].offset for paragraph in syntok_segmenter.analyze(text) for sentence in paragraph]
            return set(starts[1:])

        splitters["syntok"] = syntok_boundaries
    except ImportError:
        pass
    return splitters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "sentence_splitting.json")
    args = parser.parse_args()

    documents = genia_dev_abstracts(default_corpora_dir())
    abstracts = [detokenize(sentences) for sentences in documents]
    splitters = {
        "previous_rule": word_rule(previous_rule),
        "split_sentences": word_rule(split_sentences),
        **library_splitters(),
    }
    results = {}
    for name, boundaries in splitters.items():
        found = missed = spurious = 0
        started = time.perf_counter()
        predicted = [boundaries(text) for text, _ in abstracts]
        seconds = time.perf_counter() - started
        for (_, reference), guessed in zip(abstracts, predicted):
            found += len(guessed & set(reference))
            missed += len(set(reference) - guessed)
            spurious += len(guessed - set(reference))
        results[name] = {
            "found": found,
            "missed": missed,
            "spurious": spurious,
            "ms_per_abstract": 1000 * seconds / len(abstracts),
        }
        print(f"{name:16} found {found}  missed {missed}  spurious {spurious}  "
              f"{results[name]['ms_per_abstract']:.2f} ms/abstract", flush=True)
    report = {
        "reference": "JNLPBA dev abstracts, detokenized",
        "abstracts": len(abstracts),
        "boundaries": sum(len(reference) for _, reference in abstracts),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
