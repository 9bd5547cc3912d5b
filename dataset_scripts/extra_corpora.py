"""The corpora added by issue 33: reading their train and validation splits, the seeded document split, the leakage
filter against the paper corpora, the guard against kept-aside files, and the command that copies the named files
out of repository snapshots into a corpora directory.

    python -m dataset_scripts.extra_corpora --mirror-dir /work/.mirror --corpora-dir /work/corpora \\
        --shared-dir ../shared/corpora

Rules (checked by tests/test_extra_corpora.py): only train and validation splits are read, never a test split; of
the source repositories' files only those named in the corpus table (and, to collect what to exclude, the four
`EXCLUSION_SOURCES`) are ever copied or read (`check_not_kept_aside`); every document of an added corpus that shares a
PMID or a sentence (whitespace removed, at least `MIN_SHARED_CHARS` characters) with a dev or test split of the paper
corpora (`LEAKAGE_CORPORA`) is dropped, and counted.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from .corpus_sources import Corpus, Source, aioner
from .corpus_table import CORPORA
from .extra_formats import (
    COUNT_KEYS,
    document_sentences,
    read_bioc_zip,
    read_brat_tar,
    read_osiris_tar,
    read_pubtator,
)
from .tagged_files import read_tsv, sentence_records, tag_labels

MIN_SHARED_CHARS = 40  # a shared sentence this long (whitespace removed) is no coincidence: the document is dropped
# The paper corpora whose dev and test splits the added corpora must not overlap (bc4chemd has no text here).
LEAKAGE_CORPORA = ("ncbi", "bc5cdr-disease", "bc2gm", "jnlpba", "bc5cdr-chem", "linnaeus", "s800")
# AIONER's test files of the paper corpora: read only for the PMIDs and sentences to exclude, never to train.
EXCLUSION_SOURCES = tuple(
    aioner(name)
    for name in ("BC5CDR_Test.PubTator", "NCBIdisease_Test.PubTator", "Linnaeus_Test.PubTator", "SPECIES_Test.PubTator")
)
EXCLUDED_CORPUS = {"BC5CDR_Test.PubTator": "bc5cdr-chem", "NCBIdisease_Test.PubTator": "ncbi",
                   "Linnaeus_Test.PubTator": "linnaeus", "SPECIES_Test.PubTator": "s800"}
# Files never to be read or copied: held-out evaluation corpora and every test split of the sources.
KEPT_ASIDE = re.compile(r"CRAFT|BioRED|tmVar|NLMgene|NLM-Gene|BioNLP13CG|BioNLP11ID|_Test[._]|(^|/)test\.", re.I)
READERS = {
    "pubtator": read_pubtator, "brat-tar": read_brat_tar, "osiris-tar": read_osiris_tar, "bioc-zip": read_bioc_zip
}
# Where a document is not what the split must keep together: BioID's panels of one figure share their caption.
DOCUMENT_IDS: dict[str, Callable[[str], str]] = {"bioid-cellline": lambda panel: f"BioID-figure:{panel[:7]}"}


class KeptAsideError(PermissionError):
    """A kept-aside file (an evaluation corpus or a test split) was asked for."""


def check_not_kept_aside(path: str, purpose: str = "train") -> None:
    """Refuse a kept-aside file; `EXCLUSION_SOURCES` pass only for `purpose` "exclude".

    Args:
        path (`str`): The file's path (local or in its repository).
        purpose (`str`): "train" (a corpus split) or "exclude" (collecting PMIDs and sentences to drop).

    Raises:
        KeptAsideError: the path names a kept-aside file.
    """
    allowed = purpose == "exclude" and any(path.endswith(source.path.rsplit("/", 1)[1]) for source in EXCLUSION_SOURCES)
    if KEPT_ASIDE.search(path) and not allowed:
        raise KeptAsideError(f"{path} is kept aside (an evaluation corpus or a test split): it is never read")


def added_sources() -> list[Source]:
    """Every file the added corpora read, each once, in table order (the exclusion files not included)."""
    sources = [
        source
        for corpus in CORPORA.values()
        if not corpus.paper
        for split in corpus.splits.values()
        for source in (split.source, *split.label_sources)
    ]
    return list(dict.fromkeys(sources))


def sentence_key(tokens: Iterable[str]) -> str:
    """A sentence compared across tokenizations: its text with all whitespace removed ("IL - 2" = "IL-2")."""
    return re.sub(r"\s+", "", "".join(tokens))


def sentence_hash(tokens: Iterable[str]) -> str:
    """The SHA-1 of `sentence_key`: a sentence's identity in a training manifest."""
    return hashlib.sha1(sentence_key(tokens).encode("utf-8")).hexdigest()


def document_split(document_ids: Iterable[str], seed: int, dev_share: float) -> set[str]:
    """The validation documents of a seeded split: the distinct ids sorted, shuffled with `random.Random(seed)`, the
    first round(`dev_share` x count).

    Returns:
        `set[str]`: the validation document ids; the others are train.
    """
    ordered = sorted(set(document_ids))
    random.Random(seed).shuffle(ordered)
    return set(ordered[: round(dev_share * len(ordered))])


@lru_cache(maxsize=4)
def held_out_keys(root: Path | None, download) -> tuple[frozenset[str], frozenset[str]]:
    """The PMIDs and sentence keys (`sentence_key`, at least `MIN_SHARED_CHARS` long) of the dev and test splits of
    `LEAKAGE_CORPORA`, and of AIONER's test files of them (`EXCLUSION_SOURCES`, their PMIDs too).

    Raises:
        CorpusUnavailableError: a file is missing.
    """
    from .corpora import _locate, read_corpus

    sentences = {
        key
        for name in LEAKAGE_CORPORA
        for split in ("validation", "test")
        for record in read_corpus(name, split, root, download=download)
        if len(key := sentence_key(record["tokens"])) >= MIN_SHARED_CHARS
    }
    pmids = set()
    for source in EXCLUSION_SOURCES:
        check_not_kept_aside(source.local, "exclude")
        # the errors name the corpus whose test PMIDs the file gives (ncbi's for NCBIdisease_Test, ...)
        path = _locate(CORPORA[EXCLUDED_CORPUS[source.path.rsplit("/", 1)[1]]], "exclusion", source, root, download)
        for document in read_pubtator(path):
            pmids.add(document.document_id)
            for words, _ in document_sentences(document, frozenset(), frozenset(m.type for m in document.mentions),
                                               Counter()):
                if len(key := sentence_key(words)) >= MIN_SHARED_CHARS:
                    sentences.add(key)
    return frozenset(pmids), frozenset(sentences)


def leakage_filter(sentences: list[tuple], root: Path | None, download) -> tuple[list[tuple], int]:
    """Drop every document that shares a PMID or a sentence with the held-out splits (`held_out_keys`).

    Args:
        sentences (`list[tuple]`): `(tokens, labels, document_id)`; a None document id makes the sentence its own
            document.

    Returns:
        `tuple[list[tuple], int]`: the sentences kept, and the number of documents dropped.
    """
    pmids, held_out = held_out_keys(root, download)
    units = [document if document is not None else index for index, (_, _, document) in enumerate(sentences)]
    leaked = {
        unit
        for unit, (tokens, _, document) in zip(units, sentences)
        if document in pmids or sentence_key(tokens) in held_out
    }
    return [sentence for unit, sentence in zip(units, sentences) if unit not in leaked], len(leaked)


def transfer_labels(corpus: Corpus, paths: list[Path], target: Path, counts: Counter) -> list[tuple]:
    """The sentences of `target` (a split's source) labelled from its `label_sources` files (`paths`): a
    sentence takes the labels of the first label-source sentence with the same `sentence_key`, the entity's character
    span carried onto the target's tokens; its document is that sentence's (`GENIA:<file>-doc<n>`).

    `counts`: "mentions", "widened" (an edge inside a target token: the whole token taken) and "unmatched" (target
    sentences no label source holds, left out).

    Returns:
        `list[tuple]`: `(tokens, labels, document_id)` per matched sentence, in the target's order.
    """
    from modeling_vaner.processing_vaner import spans_to_labels

    labelled: dict[str, tuple[list[tuple[int, int]], str]] = {}
    for path in paths:
        known = corpus.tag_types | corpus.ignored_tag_types
        for tokens, tags, document in read_tsv(path, {}, known):
            key = sentence_key(tokens)
            if key in labelled:
                continue
            offsets, position = [], 0
            for token in tokens:
                width = len(sentence_key([token]))
                offsets.append((position, position + width))
                position += width
            labels = tag_labels(tags, lambda tag_type: tag_type in corpus.tag_types)
            spans = [(offsets[first][0], offsets[last - 1][1]) for first, last in _label_spans(labels)]
            labelled[key] = (spans, f"GENIA:{path.stem}-doc{document}")
    sentences = []
    for tokens, _, _ in read_tsv(target, {}, None):
        key = sentence_key(tokens)
        if key not in labelled:
            counts["unmatched"] += 1
            continue
        spans, document = labelled[key]
        offsets, position = [], 0
        for token in tokens:
            width = len(sentence_key([token]))
            offsets.append((position, position + width))
            position += width
        word_spans = []
        for start, end in spans:
            covered = [index for index, (a, b) in enumerate(offsets) if a < end and start < b]
            counts["mentions"] += 1
            counts["widened"] += offsets[covered[0]][0] != start or offsets[covered[-1]][1] != end
            word_spans.append((covered[0], covered[-1] + 1))
        sentences.append((tokens, spans_to_labels(word_spans, len(tokens)), document))
    return sentences


def _label_spans(labels: list[int]) -> list[tuple[int, int]]:
    from modeling_vaner.processing_vaner import LABEL_B, LABEL_I

    spans: list[tuple[int, int]] = []
    for index, label in enumerate(labels):
        if label == LABEL_B:
            spans.append((index, index + 1))
        elif label == LABEL_I and spans and spans[-1][1] == index:
            spans[-1] = (spans[-1][0], index + 1)
    return spans


def _document_sentences(corpus: Corpus, path: Path, file_format: str, counts: Counter) -> list[tuple]:
    """`(tokens, labels, document_id)` of every sentence of a document-format file (`READERS`)."""
    from modeling_vaner.processing_vaner import spans_to_labels

    reader = READERS[file_format]
    documents = reader(path, DOCUMENT_IDS[corpus.name]) if corpus.name in DOCUMENT_IDS else reader(path)
    sentences = []
    for document in documents:
        counts["documents"] += 1
        for words, spans in document_sentences(document, corpus.tag_types, corpus.ignored_tag_types, counts):
            sentences.append((words, spans_to_labels(spans, len(words)), document.document_id))
    return sentences


def read_added_split(corpus: Corpus, split: str, root: Path | None, download=None) -> tuple[list[dict], dict]:
    """The records of one split of an added corpus, and what reading it counted.

    Args:
        corpus (`Corpus`): An added corpus (not `paper`).
        split (`str`): "train" or "validation".
        root (`Path`, *optional*): The resolved corpora directory (None: the public URLs).
        download (`Callable[[str], str]`, *optional*): As `read_corpus`'s.

    Returns:
        `tuple[list[dict], dict]`: the records (`document_id` the PMID as "PMID:<n>" where the source has one), and
            {"documents", "dropped_documents", "sentences", and each count of `COUNT_KEYS` and "unmatched"}.

    Raises:
        ValueError: a split the corpus does not have (its test split is never read).
        KeptAsideError: a source that is kept aside.
        CorpusUnavailableError: a file is missing (its own or the leakage filter's), the added corpus named.
        CorpusFormatError: as `read_corpus`.
    """
    from .corpora import CorpusUnavailableError

    try:
        return _read_added_split(corpus, split, root, download)
    except CorpusUnavailableError as error:
        # the file named may be another corpus's (the leakage filter's test files): name the corpus being read, and
        # where the added corpora's files come from
        raise CorpusUnavailableError(
            f"{corpus.name}, an added corpus, cannot be read (python -m dataset_scripts.extra_corpora copies its files "
            f"into a corpora directory): {error}"
        ) from error


def _read_added_split(corpus: Corpus, split: str, root: Path | None, download) -> tuple[list[dict], dict]:
    """`read_added_split`'s work, its errors as raised."""
    from .corpora import _locate

    if split not in corpus.splits:
        raise ValueError(f"{corpus.name} has no {split} split (its splits: {', '.join(corpus.splits)})")
    spec = corpus.splits[split]
    for source in (spec.source, *spec.label_sources):
        check_not_kept_aside(source.local)
        check_not_kept_aside(source.path)
    path = _locate(corpus, split, spec.source, root, download)
    counts: Counter = Counter()
    if spec.label_sources:
        paths = [_locate(corpus, split, source, root, download) for source in spec.label_sources]
        sentences = transfer_labels(corpus, paths, path, counts)
    elif spec.source.format in READERS:
        sentences = _document_sentences(corpus, path, spec.source.format, counts)
    else:
        known = corpus.tag_types | corpus.ignored_tag_types
        sentences = [
            (tokens, tag_labels(tags, lambda tag_type: not tag_type or tag_type in corpus.tag_types), document)
            for tokens, tags, document in read_tsv(path, {}, known)
        ]
        counts["mentions"] += sum(label == 1 for _, labels, _ in sentences for label in labels)
    if corpus.dev_split is not None:
        dev = document_split((d for _, _, d in sentences), corpus.dev_split.seed, corpus.dev_split.dev_share)
        sentences = [s for s in sentences if (s[2] in dev) == (split == "validation")]
    sentences, dropped = leakage_filter(sentences, root, download)
    documents = {d if d is not None else index for index, (_, _, d) in enumerate(sentences)}
    left_out = {key: counts[key] for key in (*COUNT_KEYS[1:], "unmatched") if counts[key]}
    if any(key not in ("widened", "overlapping") for key in left_out):
        warnings.warn(f"{corpus.name} {split}: left out (counted, see `vaner data stats`): {left_out}", stacklevel=2)
    records = sentence_records(((t, labels, None) for t, labels, _ in sentences), f"{corpus.name}-{split}",
                               corpus.entity_type, corpus.name)
    for record, (_, _, document) in zip(records, sentences):
        record["document_id"] = document
    report = {"documents": len(documents), "dropped_documents": dropped, "sentences": len(records),
              **{key: counts[key] for key in (*COUNT_KEYS, "unmatched")}}
    return records, report


def mirror_files() -> list[tuple[str, Source]]:
    """Every (repository, source) the corpora directory needs from the snapshots: the added corpora's files and
    the exclusion files, each once; files already in shared/corpora (the JNLPBA ones) are not copied."""
    shared = {"BaderLab/Biomedical-Corpora", "BioMedBERT/biomedbert"}
    sources = [s for s in added_sources() if s.repository.name not in shared] + list(EXCLUSION_SOURCES)
    return [(source.repository.name, source) for source in sources]


def copy_from_mirrors(mirror_dir: Path, corpora_dir: Path, shared_dir: Path | None = None) -> list[Path]:
    """Copy exactly the named files out of the snapshots (`<mirror_dir>/<owner>+<name>/repo`, bare git
    repositories) at the table's pinned commits into `corpora_dir` at their `local` paths; with `shared_dir`, link
    each entry of it into `corpora_dir` too, so that one directory serves the paper corpora and the added ones.

    Returns:
        `list[Path]`: the files written.

    Raises:
        FileNotFoundError: a snapshot, commit or file is missing (named).
        KeptAsideError: a kept-aside file is named.
    """
    corpora_dir.mkdir(parents=True, exist_ok=True)
    if shared_dir is not None:
        for entry in sorted(shared_dir.iterdir()):
            link = corpora_dir / entry.name
            if not link.exists() and not link.is_symlink():
                link.symlink_to(entry.resolve())
    written = []
    for repository, source in mirror_files():
        check_not_kept_aside(source.path, "exclude" if source in EXCLUSION_SOURCES else "train")
        git_dir = mirror_dir / repository.replace("/", "+") / "repo"
        result = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{source.repository.commit}:{source.path}"],
            capture_output=True,
        )
        if result.returncode:
            raise FileNotFoundError(
                f"{git_dir}: cannot read {source.path} at {source.repository.commit}: "
                f"{result.stderr.decode(errors='replace').strip()}"
            )
        target = corpora_dir / source.local
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(result.stdout)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror-dir", type=Path, required=True, help="folder of <owner>+<name>/repo snapshots")
    parser.add_argument("--corpora-dir", type=Path, required=True, help="the corpora directory to fill")
    parser.add_argument("--shared-dir", type=Path, help="shared/corpora: each entry linked into --corpora-dir")
    args = parser.parse_args(argv)
    for path in copy_from_mirrors(args.mirror_dir, args.corpora_dir, args.shared_dir):
        print(path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

