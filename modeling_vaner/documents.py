"""Documents in the field's exchange formats: read plain text, JSONL, PubTator, BioC XML and BioC JSON; write
JSONL, PubTator, BioC XML and BioC JSON with entities.

PubTator and BioC are parsed and encoded by the `bioc` package; this module frames records (so that a bad one is
reported with its file and line and the others still read) and maps both to one document model: passages with
document offsets, as PubTator3's BioC has them (title at 0, abstract at len(title) + 1). All offsets count
characters (code points).
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

INPUT_FORMATS = ("text", "jsonl", "pubtator", "bioc-xml", "bioc-json")
OUTPUT_FORMATS = ("jsonl", "pubtator", "bioc-xml", "bioc-json")
# Stated in every BioC output (PubTator has no header: its identifier column stays empty).
NO_IDENTIFIERS = "none: VANER recognises entity mentions, it does not link them to concept identifiers"
PUBTATOR_TEXT_LINE = re.compile(r"^([^|]*)\|([ta])\|")


@dataclass
class Passage:
    """A passage of a document: its text and where it starts in the document (characters)."""

    offset: int
    text: str
    infons: dict = field(default_factory=dict)


@dataclass
class Document:
    """One input record. `annotations` are the mentions the input already carries (PubTator and BioC files), as
    `(start, end, type, text)` in document offsets; `line` is where the record starts in its file (1-based)."""

    id: str
    passages: list[Passage]
    line: int
    annotations: list[tuple[int, int, str, str]] = field(default_factory=list)

    def text(self) -> str:
        """The document's text with each passage at its offset (gaps filled with spaces): what the offsets of its
        entities count over; for PubTator, title + " " + abstract."""
        text = ""
        for passage in self.passages:
            text += " " * (passage.offset - len(text)) + passage.text
        return text


@dataclass
class BadRecord:
    """A record that could not be read: `str()` is "file:line: problem"."""

    path: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}"


def read_documents(
    path, input_format: str, *, id_field: str = "id", text_field: str = "text"
) -> Iterator[Document | BadRecord]:
    """Read the records of `path` one by one, in file order.

    Args:
        path: the input file.
        input_format: one of `INPUT_FORMATS`: "text" (one document per line; its id is the line number), "jsonl"
            (one JSON object per line with `id_field` and `text_field`, or "title" and "abstract" instead of the
            text; without `id_field` the id is the line number), "pubtator" (blocks of `ID|t|title`, `ID|a|abstract`
            and tab-separated annotation lines, separated by blank lines), "bioc-xml" or "bioc-json" (a BioC
            collection; passage offsets are kept).
        id_field, text_field: the JSONL field names.

    Returns:
        An iterator of `Document`, or `BadRecord` for a record that cannot be read (invalid JSON, no text field, a
        PubTator block without its title or abstract line, a BioC passage without text), so that the caller
        decides whether to skip it or stop.

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown format, or a file that cannot be read past a point (broken XML or JSON
            collection), with its line.
    """
    path = Path(path)
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"unknown input format {input_format!r}; one of {', '.join(INPUT_FORMATS)}")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if input_format == "text":
        return read_text_lines(path)
    if input_format == "jsonl":
        return read_jsonl(path, id_field, text_field)
    if input_format == "pubtator":
        return read_pubtator(path)
    return read_bioc(path, xml=input_format == "bioc-xml")


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """`(line number, line without its line break)`; only "\\n" and "\\r\\n" end a line (str.splitlines would
    also break at characters such as U+2028 that abstracts contain)."""
    with open(path, encoding="utf-8", newline="") as lines:
        for number, line in enumerate(lines, 1):
            yield number, line.removesuffix("\n").removesuffix("\r")


def read_text_lines(path: Path) -> Iterator[Document]:
    for number, line in numbered_lines(path):
        yield Document(str(number), [Passage(0, line)], number)


def title_and_abstract(title: str, abstract: str) -> list[Passage]:
    """PubTator's two passages: the abstract starts after the title and one space."""
    return [Passage(0, title, {"type": "title"}), Passage(len(title) + 1, abstract, {"type": "abstract"})]


def read_jsonl(path: Path, id_field: str, text_field: str) -> Iterator[Document | BadRecord]:
    for number, line in numbered_lines(path):
        if not line.strip():
            yield BadRecord(str(path), number, "empty line: expected a JSON object")
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield BadRecord(str(path), number, f"invalid JSON ({error.msg} at column {error.colno})")
            continue
        if not isinstance(record, dict):
            yield BadRecord(str(path), number, f"expected a JSON object, got {type(record).__name__}")
            continue
        document_id = str(record.get(id_field, number))
        if isinstance(record.get(text_field), str):
            yield Document(document_id, [Passage(0, record[text_field])], number)
        elif isinstance(record.get("title"), str) and isinstance(record.get("abstract"), str):
            yield Document(document_id, title_and_abstract(record["title"], record["abstract"]), number)
        else:
            yield BadRecord(
                str(path),
                number,
                f"no {text_field!r} text field (nor 'title' and 'abstract'); fields: {', '.join(record)}",
            )


def pubtator_blocks(path: Path) -> Iterator[tuple[int, list[str]]]:
    """`(first line number, lines)` of each blank-line-separated block."""
    block, first = [], 0
    for number, line in numbered_lines(path):
        if line.strip():
            if not block:
                first = number
            block.append(line)
        elif block:
            yield first, block
            block = []
    if block:
        yield first, block


def read_pubtator(path: Path) -> Iterator[Document | BadRecord]:
    from bioc import pubtator

    for first, lines in pubtator_blocks(path):
        # a block's lines are consecutive: title, abstract, then tab-separated annotation or relation lines
        junk = [i for i, line in enumerate(lines) if not PUBTATOR_TEXT_LINE.match(line) and "\t" not in line]
        if junk:
            problem = "not a PubTator line (ID|t|title, ID|a|abstract or tab-separated fields)"
            yield BadRecord(str(path), first + junk[0], problem)
            continue
        kinds = [match.group(2) for match in map(PUBTATOR_TEXT_LINE.match, lines) if match]
        if kinds.count("t") != 1 or kinds.count("a") != 1:
            missing = "title (ID|t|...)" if "t" not in kinds else "abstract (ID|a|...)"
            problem = f"a PubTator block needs one {missing} line" if len(kinds) < 2 else "two documents in one block"
            yield BadRecord(str(path), first, problem)
            continue
        try:
            (parsed,) = pubtator.loads("\n".join(lines))
            annotations = [(int(a.start), int(a.end), a.type, a.text) for a in parsed.annotations]
            # bioc strips each line, so an annotation with an empty identifier column (NER output, this module's
            # own) comes back as a 5-field relation: ID, start, end, text, type
            annotations += [
                (int(r.type), int(r.id1), r.neg, r.id2)
                for r in parsed.relations
                if r.type.isdigit() and r.id1.isdigit()
            ]
        except ValueError as error:
            yield BadRecord(str(path), first, f"bad PubTator annotation line: {error}")
            continue
        passages = title_and_abstract(parsed.title or "", parsed.abstract or "")
        yield Document(parsed.pmid, passages, first, annotations)


def read_bioc(path: Path, xml: bool) -> Iterator[Document | BadRecord]:
    """Documents of a BioC XML (read document by document) or BioC JSON collection (read whole: JSON has no
    streaming reader in `bioc`). `line` is the document's position in the collection (1-based): BioC's readers
    do not report lines."""
    import bioc
    from lxml import etree

    try:
        if xml:
            with bioc.biocxml.iterparse(str(path)) as reader:
                yield from bioc_documents(path, reader)
        else:
            with open(path, encoding="utf-8") as handle:
                yield from bioc_documents(path, bioc.biocjson.load(handle).documents)
    except etree.XMLSyntaxError as error:
        raise ValueError(f"{path}:{error.lineno}: invalid BioC XML: {error.msg}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: invalid BioC JSON: {error.msg}") from None
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a BioC JSON collection (missing or bad field {error})") from None


def bioc_documents(path: Path, documents) -> Iterator[Document | BadRecord]:
    for number, document in enumerate(documents, 1):
        passages = [Passage(passage.offset, passage.text, dict(passage.infons)) for passage in document.passages]
        without_text = [index for index, passage in enumerate(passages) if passage.text is None]
        if without_text or not passages:
            problem = f"passage {without_text[0]} has no text" if without_text else "no passage"
            yield BadRecord(str(path), number, f"document {document.id!r}: {problem} (line = document number)")
            continue
        annotations = [
            (location.offset, location.offset + location.length, annotation.infons.get("type", ""), annotation.text)
            for passage in document.passages
            for annotation in passage.annotations
            for location in annotation.locations
        ]
        yield Document(str(document.id), passages, number, annotations)


# ---------------------------------------------------------------------------------------------------------------
# Writers: one per output format, each `write(record)` for one annotated document, then `close()`
# ---------------------------------------------------------------------------------------------------------------
def open_writer(path, output_format: str):
    """A writer of annotated documents to `path` in `output_format` (one of `OUTPUT_FORMATS`).

    Each record written is a dict `{"id", "passages": [{"offset", "text", "infons"}], "entities": [{"start",
    "end", "entity_group", "score", "word"}]}`, entity offsets counting over the document (see `Document.text`).
    JSONL writes `{"id", "entities"}` per line; PubTator the title and abstract lines (the first passage is the
    title; a one-passage document has an empty abstract) and one line per entity with an empty identifier
    column (PubTator has no score column); BioC each passage with its entities as annotations (infons type and
    score; a location in document offsets), the collection's infons stating that no identifiers are given.

    Raises:
        ValueError: an unknown format.
    """
    writers = {"jsonl": JsonlWriter, "pubtator": PubTatorWriter, "bioc-xml": BioCXMLWriter, "bioc-json": BioCJSONWriter}
    if output_format not in writers:
        raise ValueError(f"unknown output format {output_format!r}; one of {', '.join(OUTPUT_FORMATS)}")
    return writers[output_format](Path(path))


class JsonlWriter:
    def __init__(self, path: Path):
        self.handle = open(path, "w", encoding="utf-8")

    def write(self, record: dict) -> None:
        self.handle.write(json.dumps({"id": record["id"], "entities": record["entities"]}, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.close()


class PubTatorWriter(JsonlWriter):
    def write(self, record: dict) -> None:
        document = record_document(record)
        title = document.passages[0].text
        abstract = document.text()[len(title) + 1 :]
        if len(document.passages) > 1 and document.passages[1].offset < len(title) + 1:
            raise ValueError(f"document {document.id}: its passages overlap: it cannot be written as PubTator")
        lines = [f"{document.id}|t|{title}", f"{document.id}|a|{abstract}"]
        for entity in record["entities"]:
            lines.append(
                f"{document.id}\t{entity['start']}\t{entity['end']}\t{entity['word']}\t{entity['entity_group']}\t"
            )
        self.handle.write("\n".join(lines) + "\n\n")


def record_document(record: dict) -> Document:
    passages = [Passage(p["offset"], p["text"], p.get("infons", {})) for p in record["passages"]]
    return Document(record["id"], passages, 0)


def bioc_collection_info():
    import bioc

    collection = bioc.BioCCollection()
    collection.source = "VANER"
    collection.date = date.today().isoformat()
    collection.key = "vaner.key"
    collection.infons["concept_identifiers"] = NO_IDENTIFIERS
    return collection


def bioc_document(record: dict):
    """The record as a `bioc.BioCDocument`: each entity an annotation of the passage it starts in."""
    import bioc

    document = bioc.BioCDocument()
    document.id = str(record["id"])
    passages = []
    for passage_record in record["passages"]:
        passage = bioc.BioCPassage()
        passage.offset, passage.text = passage_record["offset"], passage_record["text"]
        passage.infons.update(passage_record.get("infons", {}))
        document.add_passage(passage)
        passages.append(passage)
    for number, entity in enumerate(record["entities"], 1):
        annotation = bioc.BioCAnnotation()
        annotation.id = f"T{number}"
        annotation.text = entity["word"]
        annotation.infons.update({"type": entity["entity_group"], "score": f"{entity['score']:.4f}", "identifier": ""})
        annotation.add_location(bioc.BioCLocation(entity["start"], entity["end"] - entity["start"]))
        owner = max((p for p in passages if p.offset <= entity["start"]), key=lambda p: p.offset, default=passages[0])
        owner.add_annotation(annotation)
    return document


class BioCXMLWriter:
    def __init__(self, path: Path):
        from bioc import biocxml

        self.writer = biocxml.BioCXMLDocumentWriter(str(path))
        self.writer.write_collection_info(bioc_collection_info())

    def write(self, record: dict) -> None:
        self.writer.write_document(bioc_document(record))

    def close(self) -> None:
        self.writer.close()


class BioCJSONWriter(JsonlWriter):
    """A BioC JSON collection, written document by document (bioc encodes each document)."""

    def __init__(self, path: Path):
        from bioc import biocjson

        super().__init__(path)
        self.encode, self.count = biocjson.toJSON, 0
        header = biocjson.toJSON(bioc_collection_info())
        header.pop("documents")
        self.handle.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "documents": [\n')

    def write(self, record: dict) -> None:
        separator = ",\n" if self.count else ""
        self.handle.write(separator + json.dumps(self.encode(bioc_document(record)), ensure_ascii=False))
        self.count += 1

    def close(self) -> None:
        self.handle.write("\n]}\n")
        super().close()
