"""The document formats of the added corpora (issue 33): text with character-offset mentions, read into
`AnnotatedDocument`s, then cut into sentences of words exactly as the pipeline cuts text (`split_words`,
`split_sentences`) with IOB2 labels (`document_sentences`).

Formats (the `Source.format` of the corpus table): "pubtator" (AIONER's files, read with the `bioc` package),
"brat-tar" (brat standoff .txt/.ann pairs in a .tar.gz: CLL), "osiris-tar" (OSIRIS articleN.txt and its XML
.txt.ann in a .tar), "bioc-zip" (one BioC XML file in a .zip: Variome). Archives are read as they are published, so
that a local copy and the public URL are the same file.

A mention whose edges fall inside a word covers the whole word (counted: `widened`); one that spans two sentences,
covers no word, is discontinuous, or whose offsets do not read its PubTator text cannot be one IOB2 entity and is left
out (counted). A Variome paragraph whose
offsets do not read its mentions' texts (17 of 392: shifted by 1 to 3 characters) is left out whole (counted). Every
count is returned with the sentences; nothing is dropped without a count.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from .tagged_files import CorpusFormatError, merge_spans

IGNORE_LINE = "** IGNORE LINE **"  # Variome's placeholder lines: read as blank text (offsets kept)
COUNT_KEYS = (
    "mentions", "widened", "crossing_sentences", "no_word", "discontinuous", "text_mismatch", "overlapping",
    "documents_left_out",
)


class Mention(NamedTuple):
    start: int  # character offsets into the document text; end exclusive
    end: int
    type: str  # the annotation type as the source writes it
    where: str  # file (and line or document) for errors
    # why the mention cannot be an entity, counted under this key: "discontinuous", or "text_mismatch" (its
    # offsets do not read its text: a source defect, 14 in GNormPlus_Train and 1 in BioID_Train_revision)
    problem: str = ""


class AnnotatedDocument(NamedTuple):
    document_id: str  # "PMID:<n>" where the source gives a PMID, else the source's own id ("PMC:<n>", ...)
    text: str
    passages: list[tuple[int, int]]  # character ranges split into sentences separately (title, abstract, ...)
    mentions: list[Mention]
    # why the document is read as no sentence (`document_sentences` counts it), "" for a sound one
    left_out: str = ""


def _check_mention(text: str, mention: Mention, expected: str | None) -> None:
    """Raises CorpusFormatError where a mention's offsets leave the text or read another string than `expected`."""
    if not 0 <= mention.start < mention.end <= len(text):
        raise CorpusFormatError(f"{mention.where}: offsets {mention.start}-{mention.end} outside the text")
    if expected is not None and text[mention.start:mention.end] != expected:
        raise CorpusFormatError(
            f"{mention.where}: mention {expected!r} at {mention.start}-{mention.end} reads "
            f"{text[mention.start:mention.end]!r}"
        )


def read_pubtator(path: Path, document_id=None) -> Iterator[AnnotatedDocument]:
    """The documents of a PubTator file (`bioc.pubtator`): title and abstract are two passages of the text
    title + " " + abstract, the offsets PubTator uses. A mention whose text is not the text at its offsets has
    `problem` "text_mismatch".

    Args:
        path (`Path`): The file.
        document_id (`Callable[[str], str]`, *optional*): The document id from PubTator's id (default: "PMID:<id>").

    Raises:
        CorpusFormatError: a mention outside the text (the file and document named).
    """
    from bioc import pubtator

    with open(path, encoding="utf-8") as stream:
        documents = pubtator.load(stream)
    for document in documents:
        text = f"{document.title} {document.abstract}"
        where = f"{path}: document {document.pmid}"
        mentions = []
        for annotation in document.annotations:
            mention = Mention(annotation.start, annotation.end, annotation.type, where)
            _check_mention(text, mention, None)
            if text[mention.start:mention.end] != annotation.text:
                mention = mention._replace(problem="text_mismatch")
            mentions.append(mention)
        title_end = len(document.title)
        yield AnnotatedDocument(
            document_id(document.pmid) if document_id else f"PMID:{document.pmid}",
            text,
            [(0, title_end), (title_end + 1, len(text))],
            mentions,
        )


def _brat_document_id(stem: str) -> str:
    """CLL's file stems "PMID-123" / "PMC-123" as "PMID:123" / "PMC:123"."""
    prefix, _, number = stem.partition("-")
    return f"{prefix}:{number}"


def read_brat_tar(path: Path) -> Iterator[AnnotatedDocument]:
    """The documents of a .tar.gz of brat standoff files: each `standoff/<stem>.txt` with its `<stem>.ann`, whose
    text-bound lines `T<n>\\t<type> <start> <end>[;<start> <end>...]\\t<text>` are the mentions (a `;` marks a
    discontinuous one); note lines (`#`) are skipped, and any other line is an error.

    Raises:
        CorpusFormatError: a malformed line, a .txt without its .ann, or a mention whose text does not match
            (`archive:member:line`).
    """
    with tarfile.open(path) as archive:
        members = {member.name: member for member in archive.getmembers() if "/standoff/" in f"/{member.name}"}
        for name in sorted(n for n in members if n.endswith(".txt")):
            annotation_name = name[: -len(".txt")] + ".ann"
            if annotation_name not in members:
                raise CorpusFormatError(f"{path}:{name}: no {Path(annotation_name).name} beside it")
            text = archive.extractfile(members[name]).read().decode("utf-8")
            lines = archive.extractfile(members[annotation_name]).read().decode("utf-8").splitlines()
            mentions = []
            for number, line in enumerate(lines, 1):
                where = f"{path}:{annotation_name}:{number}"
                if not line.strip() or line.startswith("#"):
                    continue
                fields = line.split("\t")
                if not line.startswith("T") or len(fields) != 3:
                    raise CorpusFormatError(f"{where}: expected a text-bound line T<n><TAB>type offsets<TAB>text")
                annotation_type, _, offsets = fields[1].partition(" ")
                try:
                    ranges = [tuple(int(value) for value in part.split()) for part in offsets.split(";")]
                    start, end = ranges[0][0], ranges[-1][1]
                except (ValueError, IndexError):
                    raise CorpusFormatError(f"{where}: bad offsets {offsets!r}") from None
                mention = Mention(start, end, annotation_type, where, "discontinuous" if len(ranges) > 1 else "")
                _check_mention(text, mention, None if mention.problem else fields[2])
                mentions.append(mention)
            yield AnnotatedDocument(_brat_document_id(Path(name).stem), text, [(0, len(text))], mentions)


OSIRIS_ANNOTATION = re.compile(r'<Annotation type="(\w+)" span="(\d+)\.\.(\d+)"')


def read_osiris_tar(path: Path) -> Iterator[AnnotatedDocument]:
    """The documents of the OSIRIS .tar: `articleN.txt` (its PMID on the first line, then title and abstract) and
    `articleN.txt.ann`, whose `<Annotation type=".." span="start..end">` elements are the mentions (end exclusive);
    the `file` element spanning the whole text is not a mention.

    Raises:
        CorpusFormatError: an article without its .ann, a first line that is not a PMID, or a span outside the text
            or with a space at an edge (`archive:member`).
    """
    with tarfile.open(path) as archive:
        members = {member.name: member for member in archive.getmembers()}
        for name in sorted((n for n in members if re.search(r"article\d+\.txt$", n)), key=_article_number):
            annotation_name = f"{name}.ann"
            if annotation_name not in members:
                raise CorpusFormatError(f"{path}:{name}: no {Path(annotation_name).name} beside it")
            text = archive.extractfile(members[name]).read().decode("utf-8")
            first_line, _, _ = text.partition("\n")
            markup = archive.extractfile(members[annotation_name]).read().decode("utf-8")
            found = [found for found in OSIRIS_ANNOTATION.findall(markup) if found[0] != "file"]
            if not text.strip() and not found:  # v0.2's article74.txt is empty: a document without sentences
                yield AnnotatedDocument(f"OSIRIS:{Path(name).stem}", text, [], [])
                continue
            if not first_line.strip().isdigit():
                raise CorpusFormatError(f"{path}:{name}:1: expected the PMID, found {first_line[:40]!r}")
            mentions = []
            for annotation_type, start, end in found:
                mention = Mention(int(start), int(end), annotation_type, f"{path}:{annotation_name}")
                _check_mention(text, mention, None)
                if text[mention.start:mention.end].strip() != text[mention.start:mention.end]:
                    raise CorpusFormatError(f"{mention.where}: span {start}..{end} has a space at an edge")
                mentions.append(mention)
            body = len(first_line) + 1
            yield AnnotatedDocument(f"PMID:{first_line.strip()}", text, [(body, len(text))], mentions)


def _article_number(name: str) -> int:
    return int(re.search(r"article(\d+)\.txt$", name).group(1))


def read_bioc_zip(path: Path) -> Iterator[AnnotatedDocument]:
    """The documents of a .zip holding one BioC XML file (`bioc.biocxml`), one per BioC document, each passage a
    passage; the document id is the article's ("PMC:<n>" from Variome's "<n>-<section>-p<k>"), so that the
    paragraphs of an article are one document for the splits. `IGNORE_LINE` placeholders become spaces. A BioC
    document with a mention whose offsets do not read its text is yielded with `left_out` saying so (no passage).

    Raises:
        CorpusFormatError: not one XML file in the archive.
    """
    from bioc import biocxml

    with zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if name.endswith(".xml")]
        if len(names) != 1:
            raise CorpusFormatError(f"{path}: expected one .xml file in the archive, found {len(names)}")
        collection = biocxml.loads(archive.read(names[0]).decode("utf-8"))
    for document in collection.documents:
        where = f"{path}:{names[0]}: document {document.id}"
        pieces, passages, mentions = [], [], []
        length = 0
        left_out = ""
        for passage in document.passages:
            text = passage.text.replace(IGNORE_LINE, " " * len(IGNORE_LINE))
            for annotation in passage.annotations:
                locations = sorted((location.offset, location.end) for location in annotation.locations)
                local = Mention(
                    locations[0][0] - passage.offset,
                    locations[-1][1] - passage.offset,
                    annotation.infons.get("type", ""),
                    where,
                    "discontinuous" if len(locations) > 1 else "",
                )
                try:
                    _check_mention(text, local, None if local.problem else annotation.text)
                except CorpusFormatError as error:
                    left_out = left_out or str(error)
                # passages are laid one after the other in the document text, a line break between them
                mentions.append(local._replace(start=local.start + length, end=local.end + length))
            passages.append((length, length + len(text)))
            pieces.append(text + "\n")
            length += len(text) + 1
        article = f"PMC:{document.id.partition('-')[0]}"
        if left_out:
            yield AnnotatedDocument(article, "", [], [], left_out)
        else:
            yield AnnotatedDocument(article, "".join(pieces), passages, mentions)


def document_sentences(
    document: AnnotatedDocument, counted: frozenset[str], ignored: frozenset[str], counts: Counter
) -> Iterator[tuple[list[str], list[tuple[int, int]]]]:
    """The sentences of a document as the pipeline splits text, each with the word spans of its mentions of the
    `counted` types; mentions of `ignored` types are O.

    Args:
        document (`AnnotatedDocument`): The document.
        counted (`frozenset[str]`): Annotation types that are the entity.
        ignored (`frozenset[str]`): Annotation types read as O.
        counts (`Counter`): Incremented per `COUNT_KEYS` over the `counted` mentions: all, widened to whole words,
            left out (crossing two sentences, covering no word, `Mention.problem`), and overlapping ones joined; and the
            documents left out (`AnnotatedDocument.left_out`).

    Yields:
        `tuple[list[str], list[tuple[int, int]]]`: the words, and the merged `(first, last)` word spans (last
            exclusive) of the entity.

    Raises:
        CorpusFormatError: a mention of a type neither counted nor ignored (named with its file).
    """
    from modeling_vaner.text_vaner import split_sentences, split_words

    if document.left_out:
        counts["documents_left_out"] += 1
        return
    wanted = []
    for mention in document.mentions:
        if mention.type in counted:
            wanted.append(mention)
        elif mention.type not in ignored:
            raise CorpusFormatError(
                f"{mention.where}: unexpected annotation type {mention.type!r}; expected one of "
                f"{sorted(counted | ignored)}"
            )
    counts["mentions"] += len(wanted)
    sentences = []  # (word character spans) per sentence, in document order
    for start, end in document.passages:
        words = [(a + start, b + start) for a, b in split_words(document.text[start:end])]
        shifted = [(a - start, b - start) for a, b in words]
        sentences += [words[first:last] for first, last in split_sentences(document.text[start:end], shifted)]
    spans: list[list[tuple[int, int]]] = [[] for _ in sentences]
    for mention in wanted:
        if mention.problem:
            counts[mention.problem] += 1
            continue
        covered = [
            (index, position)
            for index, words in enumerate(sentences)
            for position, (a, b) in enumerate(words)
            if a < mention.end and mention.start < b
        ]
        if not covered:
            counts["no_word"] += 1
            continue
        if covered[0][0] != covered[-1][0]:
            counts["crossing_sentences"] += 1
            continue
        index = covered[0][0]
        first, last = covered[0][1], covered[-1][1]
        words = sentences[index]
        counts["widened"] += words[first][0] != mention.start or words[last][1] != mention.end
        spans[index].append((first, last + 1))
    for words, found in zip(sentences, spans):
        merged = merge_spans(sorted(found))
        counts["overlapping"] += len(found) - len(merged)
        yield [document.text[a:b] for a, b in words], merged
