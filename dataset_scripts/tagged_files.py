"""The corpus file formats: IOB2 token<TAB>tag files (the corpora's and any user's) and the VANER jsonl release.

A reader yields sentences `(tokens, tags, document index)`; `sentence_records` turns them into records, dicts with
`id`, `document_id`, `tokens`, `ner_tags` (0=O, 1=B, 2=I), `entity_type` and `corpus`. Malformed lines raise
`CorpusFormatError` naming `file:line`; documented repairs (`Repair`) of known defects are applied and checked.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from modeling_vaner.processing_vaner import IOB2_LABELS, LABEL_B, LABEL_I, LABEL_O

DOCSTART = "-DOCSTART-"
MAX_REPORTED_PROBLEMS = 20
Tag = tuple[int, str]  # O/B/I label and the tag's type as written ("" for O and untyped B/I)
Sentence = tuple[list[str], list[Tag], int | None]  # tokens, tags, document index (None: no -DOCSTART-)


class CorpusFormatError(ValueError):
    """A line of a corpus file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Repair:
    """A documented fix of one known defect: at `line` of `source` (and token `index` of a jsonl record),
    `field` ("token" text or "tag") reads `old` and becomes `new`. A mismatch is an error, never skipped."""

    source: str
    line: int
    field: str
    old: str
    new: str
    reason: str
    index: int = 0


def _parse_tag(raw: str, previous: str, strict: bool, where: str, repaired: list[str]) -> Tag:
    """The label and type of one IOB2 tag, checked against the raw tag before it ("" at a sentence start).

    An I that does not continue an entity of its type is an error when `strict`; otherwise it starts an entity, and
    `where` is added to `repaired`.
    """
    if raw == "O":
        return LABEL_O, ""
    prefix, _, tag_type = raw.partition("-")
    if prefix not in ("B", "I") or raw.endswith("-"):
        raise CorpusFormatError(f"{where}: invalid tag {raw!r}; expected O, B, I, B-<type> or I-<type>")
    if prefix == "I" and (previous in ("", "O") or previous.partition("-")[2] != tag_type):
        if strict:
            raise CorpusFormatError(f"{where}: {raw!r} follows {previous or 'the sentence start'!r} (invalid IOB2)")
        repaired.append(where)
        return LABEL_B, tag_type
    return (LABEL_B if prefix == "B" else LABEL_I), tag_type


def read_tsv(
    path: Path, repairs: Mapping[int, Repair], known_types=None, strict: bool = True
) -> Iterator[Sentence]:
    """Sentences of a tagged column file: the token in the first column, the IOB2 tag in the last (the conlleval
    convention), blank lines between sentences, `-DOCSTART-` lines starting documents. A UTF-8 BOM and CRLF line
    ends read like a clean file. Yields `(tokens, tags, document index)`.

    `known_types`: the only tag types allowed (None: any). `strict`: an I that does not continue an entity is an
    error; otherwise it starts one, with one warning for the file. Every malformed line (up to
    `MAX_REPORTED_PROBLEMS`) is named, `file:line`, in one `CorpusFormatError`.
    """
    tokens: list[str] = []
    tags: list[Tag] = []
    previous = ""
    document = None
    problems: list[str] = []
    repaired: list[str] = []
    with open(path, encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            line = line.rstrip("\r\n")
            fields = line.split("\t")
            starts_document = fields[0] == DOCSTART
            if not line.strip() or starts_document:  # both end a sentence
                if tokens and not problems:
                    yield tokens, tags, document
                tokens, tags, previous = [], [], ""
                if starts_document:
                    document = 0 if document is None else document + 1
                continue
            where = f"{path}:{number}"
            token, raw = fields[0], fields[-1]
            try:
                if len(fields) < 2:
                    raise CorpusFormatError(f"{where}: expected 2 or more tab-separated columns (token ... tag), got 1")
                if number in repairs:
                    token, raw = _apply_repair(repairs[number], token, raw, where)
                if not token.strip():
                    raise CorpusFormatError(f"{where}: empty token")
                tag = _parse_tag(raw, previous, strict, where, repaired)
                if known_types is not None and tag[1] and tag[1] not in known_types:
                    raise CorpusFormatError(
                        f"{where}: unexpected entity type in tag {raw!r}; expected one of {sorted(known_types)}"
                    )
            except CorpusFormatError as error:
                problems.append(str(error))
                if len(problems) == MAX_REPORTED_PROBLEMS:
                    break
                tag, raw = (LABEL_O, ""), "O"
            tokens.append(token)
            tags.append(tag)
            previous = raw
    if problems:
        more = f" (the first {MAX_REPORTED_PROBLEMS} problems; there may be more)"
        raise CorpusFormatError("; ".join(problems) + (more if len(problems) == MAX_REPORTED_PROBLEMS else ""))
    if repaired:
        warnings.warn(
            f"{path}: {len(repaired)} I- tag(s) not continuing an entity read as entity starts "
            f"(at {', '.join(location.rsplit(':', 1)[1] for location in repaired[:10])}"
            f"{', ...' if len(repaired) > 10 else ''}; strict reading makes them errors)",
            stacklevel=3,
        )
    if tokens:
        yield tokens, tags, document


def tag_labels(tags: list[Tag], counts) -> list[int]:
    """O/B/I labels of the tags whose type `counts` (a predicate); all others O."""
    return [label if label != LABEL_O and counts(tag_type) else LABEL_O for label, tag_type in tags]


def read_jsonl(path: Path, repairs: Mapping[int, Repair]) -> Iterator[Sentence]:
    """Sentences of a VANER release file: `tokens` is [prompt, *sentence], `ner_tags` the O/B/I ids."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
                tokens, tags = record["tokens"][1:], list(record["ner_tags"])
            except (ValueError, KeyError, TypeError) as error:
                raise CorpusFormatError(f"{where}: not a VANER record with tokens and ner_tags ({error})") from None
            if len(tokens) != len(tags) or not tokens:
                raise CorpusFormatError(f"{where}: {len(tags)} ner_tags for {len(tokens)} tokens after the prompt")
            if number in repairs:
                repair = repairs[number]
                label = _apply_repair(repair, "", IOB2_LABELS[tags[repair.index]], where)[1]
                tags[repair.index] = IOB2_LABELS.index(label)
            for index, tag in enumerate(tags):
                if tag not in (LABEL_O, LABEL_B, LABEL_I):
                    raise CorpusFormatError(f"{where}: ner_tags[{index}] = {tag!r} is not 0 (O), 1 (B) or 2 (I)")
                if tag == LABEL_I and (index == 0 or tags[index - 1] == LABEL_O):
                    raise CorpusFormatError(f"{where}: ner_tags[{index}] is I after O (invalid IOB2)")
            yield tokens, tags, None


def _apply_repair(repair: Repair, token: str, tag: str, where: str) -> tuple[str, str]:
    found = token if repair.field == "token" else tag
    if found != repair.old:
        raise CorpusFormatError(f"{where}: repair expects {repair.field} {repair.old!r}, found {found!r}")
    return (repair.new, tag) if repair.field == "token" else (token, repair.new)


def sentence_records(sentences, prefix: str, entity_type: str, corpus: str) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{index}",
            "document_id": None if document is None else f"{prefix}-doc{document}",
            "tokens": tokens,
            "ner_tags": tags,
            "entity_type": entity_type,
            "corpus": corpus,
        }
        for index, (tokens, tags, document) in enumerate(sentences)
    ]


def read_token_jsonl(path: Path, strict: bool) -> Iterator[Sentence]:
    """Sentences of a JSONL file of `{"tokens": [...], "tags": ["B-CellLine", "O", ...]}` lines (IOB2 tags as
    in a column file), checked like `read_tsv`'s."""
    repaired: list[str] = []
    with open(path, encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            where = f"{path}:{number}"
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                tokens, raw_tags = record["tokens"], record["tags"]
            except (ValueError, KeyError, TypeError) as error:
                raise CorpusFormatError(f"{where}: expected a JSON object with tokens and tags ({error})") from None
            if not isinstance(tokens, list) or not isinstance(raw_tags, list) or len(tokens) != len(raw_tags):
                raise CorpusFormatError(f"{where}: tokens and tags must be lists of the same length")
            if not all(isinstance(token, str) and token.strip() for token in tokens):
                raise CorpusFormatError(f"{where}: every token must be a non-empty string")
            tags, previous = [], ""
            for raw in raw_tags:
                tags.append(_parse_tag(str(raw), previous, strict, where, repaired))
                previous = str(raw)
            if tokens:
                yield tokens, tags, None
    if repaired:
        warnings.warn(f"{path}: {len(repaired)} I- tag(s) not continuing an entity read as entity starts", stacklevel=3)


def pubtator_sentences(path: Path) -> Iterator[tuple[list[str], dict[str, list[tuple[int, int]]], int]]:
    """Sentences of a PubTator file (split into words and sentences as the pipeline splits text), each with its
    annotations as word spans per annotation type, and its document index. An annotation whose edges fall inside
    a word covers that whole word (one warning for the file).

    Raises:
        CorpusFormatError: a bad block, or an annotation whose text is not the text at its offsets (file:line).
    """
    from modeling_vaner.documents import BadRecord, read_documents
    from modeling_vaner.text_vaner import split_sentences, split_words

    widened = 0
    for index, document in enumerate(read_documents(path, "pubtator")):
        if isinstance(document, BadRecord):
            raise CorpusFormatError(str(document))
        text = document.text()
        for start, end, _, mention in document.annotations:
            if text[start:end] != mention:
                raise CorpusFormatError(
                    f"{path}:{document.line}: annotation {mention!r} at {start}-{end} reads {text[start:end]!r}"
                )
        for passage in document.passages:
            words = split_words(passage.text)
            for first, last in split_sentences(passage.text, words):
                spans = [(a + passage.offset, b + passage.offset) for a, b in words[first:last]]
                per_type: dict[str, list[tuple[int, int]]] = {}
                for start, end, annotation_type, _ in document.annotations:
                    covered = [i for i, (a, b) in enumerate(spans) if a < end and start < b]
                    if covered:
                        widened += spans[covered[0]][0] != start or spans[covered[-1]][1] != end
                        per_type.setdefault(annotation_type, []).append((covered[0], covered[-1] + 1))
                yield [text[a:b] for a, b in spans], per_type, index
    if widened:
        warnings.warn(f"{path}: {widened} annotation(s) end inside a word: widened to whole words", stacklevel=3)


def pubtator_records(path: Path, wanted: str | None, corpus: str, type_map: Mapping[str, str] | None) -> list[dict]:
    """One record per sentence and (mapped) annotation type of a PubTator file; see `read_tagged_file`."""
    from modeling_vaner.processing_vaner import spans_to_labels

    sentences = list(pubtator_sentences(path))

    def target(annotation_type: str) -> str:
        name = (type_map or {}).get(annotation_type, annotation_type)
        return wanted if wanted is not None and name.casefold() == wanted.casefold() else name

    file_types = list(dict.fromkeys(target(t) for _, per_type, _ in sentences for t in per_type))
    if wanted is not None and file_types and wanted not in file_types:
        raise CorpusFormatError(
            f"{path}: no annotation of type {wanted!r}; the file's types are {', '.join(file_types)}"
        )
    records = []
    for name in [wanted] if wanted is not None else file_types:
        sentence_tags = []
        for tokens, per_type, document in sentences:
            spans = sorted(span for t, found in per_type.items() if target(t) == name for span in found)
            sentence_tags.append((tokens, spans_to_labels(merge_spans(spans), len(tokens)), document))
        records += sentence_records(sentence_tags, f"{corpus}-{name}", name, corpus)
    return records


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlapping ones joined (two annotations of one type over the same words)."""
    merged: list[tuple[int, int]] = []
    for first, last in spans:
        if merged and first < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


def not_utf8_error(path: Path) -> CorpusFormatError:
    """The error for a file that is not UTF-8 text.

    Args:
        path (`Path`): The file.

    Returns:
        `CorpusFormatError`: naming `file:line`, the first byte that does not decode and why.
    """
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return CorpusFormatError(
            f"{path}:{line}: not UTF-8 text (byte {error.start:,}: {error.reason}); save the file as UTF-8"
        )
    return CorpusFormatError(f"{path}: not UTF-8 text; save the file as UTF-8")


TAGGED_FILE_FORMATS = ("iob2", "jsonl", "pubtator")


def tagged_file_format(path: Path, file_format: str | None) -> str:
    """`file_format`, else from the extension: .jsonl is jsonl, .pubtator pubtator, anything else an IOB2 column
    file.

    Raises:
        ValueError: an unknown format.
    """
    if file_format is None:
        return {".jsonl": "jsonl", ".pubtator": "pubtator"}.get(path.suffix.lower(), "iob2")
    if file_format not in TAGGED_FILE_FORMATS:
        raise ValueError(f"unknown tagged-file format {file_format!r}; one of {', '.join(TAGGED_FILE_FORMATS)}")
    return file_format


def read_tagged_file(
    path: str | os.PathLike,
    entity_type: str | None = None,
    corpus: str | None = None,
    tag_types=None,
    type_map: Mapping[str, str] | None = None,
    strict: bool = False,
    file_format: str | None = None,
) -> list[dict]:
    """The records of a user's annotated file: one record per sentence and entity type. Formats: an IOB2 column
    file (see `read_tsv`), JSONL of tokens and IOB2 tags (`read_token_jsonl`), or PubTator with its annotation
    types (`pubtator_sentences`: the text split into words and sentences as the pipeline splits it).

    Args:
        path (`str` or `os.PathLike`): The file.
        entity_type (`str`, *optional*): Read only this type: tags whose (mapped) type equals it, case aside, and
            untyped B/I tags count, other types are O. None: every type in the file, one record per sentence each.
        corpus (`str`, *optional*): The records' corpus name (default: the file's stem).
        tag_types (`Iterable[str]`, *optional*): With `entity_type`, the tag types (as written) that all count as
            it, e.g. {"protein", "DNA"} for Gene.
        type_map (`Mapping[str, str]`, *optional*): The file's type names to instruction types, e.g.
            {"Organism": "Species"}; a type it does not map is an error.
        strict (`bool`): An I- tag that does not continue an entity is an error (default: read as its start, with a
            warning).
        file_format (`str`, *optional*): "iob2", "jsonl" or "pubtator" (default: from the extension, see
            `tagged_file_format`). `tag_types` and `strict` apply to the tagged formats.

    Returns:
        `list[dict]`: records with `id`, `document_id`, `tokens`, `ner_tags` (0=O, 1=B, 2=I), `entity_type`, `corpus`.

    Raises:
        FileNotFoundError: the file does not exist.
        CorpusFormatError: malformed lines (each named `file:line`), bytes that are not UTF-8 (`file:line`), an
            unmapped type, untyped tags without `entity_type`, or no tag of `entity_type` in a file of other types.
        ValueError: `entity_type` is empty.
    """
    path = Path(path)
    if entity_type is not None and (not isinstance(entity_type, str) or not entity_type.strip()):
        raise ValueError(f"entity_type must be a non-empty string, got {entity_type!r}")
    if not path.is_file():
        raise FileNotFoundError(f"tagged file {path} does not exist")
    if tag_types is not None and entity_type is None:
        raise ValueError("tag_types needs the entity_type they count as")
    corpus = corpus or path.stem
    wanted = entity_type.strip() if entity_type is not None else None
    file_format = tagged_file_format(path, file_format)
    if file_format == "pubtator":
        return pubtator_records(path, wanted, corpus, type_map)
    try:
        if file_format == "jsonl":
            sentences = list(read_token_jsonl(path, strict))
        else:
            sentences = list(read_tsv(path, {}, None if type_map is None else frozenset(type_map), strict))
    except UnicodeDecodeError:  # the decoder's message names neither the file nor the line
        raise not_utf8_error(path) from None
    if file_format == "jsonl":
        unmapped = {t for _, tags, _ in sentences for _, t in tags if t and type_map is not None and t not in type_map}
        if unmapped:
            raise CorpusFormatError(f"{path}: tag types {', '.join(sorted(unmapped))} are not in the type map")

    def target(tag_type: str) -> str | None:
        """The instruction type that a tag of `tag_type` marks (None: read as O)."""
        if not tag_type:
            return wanted
        if tag_types is not None:
            return wanted if tag_type in tag_types else None
        name = (type_map or {}).get(tag_type, tag_type)
        return wanted if wanted is not None and name.casefold() == wanted.casefold() else name

    targets = {tag_type: target(tag_type) for _, tags, _ in sentences for _, tag_type in tags}
    file_types = list(dict.fromkeys(name for tag_type, name in targets.items() if tag_type and name))
    if wanted is not None and file_types and wanted not in file_types:
        raise CorpusFormatError(
            f"{path}: no entity of type {wanted!r}; the file's types are {', '.join(file_types)} "
            f"(map them to instruction types with a type map, e.g. {file_types[0]}={wanted})"
        )
    if wanted is None and any(
        label != LABEL_O and not tag_type for _, tags, _ in sentences for label, tag_type in tags
    ):
        raise CorpusFormatError(f"{path}: tags without a type (B, I) need the entity type they mark (--type)")
    names = [wanted] if wanted is not None else file_types
    return [
        record
        for name in names
        for record in sentence_records(
            [(tokens, tag_labels(tags, lambda tag_type: targets[tag_type] == name), document)
             for tokens, tags, document in sentences],
            corpus if len(names) == 1 else f"{corpus}-{name}",
            name,
            corpus,
        )
    ]
