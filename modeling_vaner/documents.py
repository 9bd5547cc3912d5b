"""Documents in the field's exchange formats: read plain text, JSONL, PubTator, BioC XML and BioC JSON; write
JSONL, PubTator, BioC XML and BioC JSON with entities.

PubTator and BioC are parsed and encoded by the `bioc` package (but for PubTator's title and abstract lines, read
here as written: bioc strips them); this module frames records (so that a bad one is reported with its file and
line and the others still read) and maps both to one document model: passages with document offsets, as
PubTator3's BioC has them (title at 0, abstract at len(title) + 1). All offsets count characters (code points). A
UTF-8 byte-order mark at the start of an input file is dropped before parsing, in every format: offsets count from
the text after it.
"""

import codecs
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

INPUT_FORMATS = ("text", "jsonl", "pubtator", "bioc-xml", "bioc-json")
# PubTator's "no identifier": readers (the `bioc` package among them) strip each line, so an empty last column
# would vanish and leave a 5-field line that reads as a relation.
PUBTATOR_NO_IDENTIFIER = "-"
PUBTATOR_TEXT_LINE = re.compile(r"^([^|]*)\|([ta])\|")
BOM = "\ufeff"
READ_CHUNK_BYTES = 1 << 20
BIOC_XML_DOCUMENT_TAG = re.compile(rb"<document[\s>/]")


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
        IsADirectoryError: `path` is a directory.
        ValueError: an unknown format, a file that cannot be read past a point (broken XML or JSON collection),
            with its line, or bytes that are not UTF-8 (text, JSONL, PubTator, BioC JSON; `decode_utf8`).
    """
    path = Path(path)
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"unknown input format {input_format!r}; one of {', '.join(INPUT_FORMATS)}")
    check_input_file(path)
    if input_format == "text":
        return read_text_lines(path)
    if input_format == "jsonl":
        return read_jsonl(path, id_field, text_field)
    if input_format == "pubtator":
        return read_pubtator(path)
    return read_bioc(path, xml=input_format == "bioc-xml")


def check_input_file(path: Path) -> None:
    """Raises `IsADirectoryError` or `FileNotFoundError`, each naming `path`, unless it is a file to read."""
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory: give a file")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")


def decode_utf8(data: bytes, source, *, offset: int = 0, line: int | None = None) -> str:
    """`data` decoded as UTF-8.

    Args:
        data: the bytes.
        source: what they come from, for the message (a path, "standard input").
        offset: where `data` starts in the source (bytes), so that the message counts from the source's start.
        line: the line `data` is (1-based), for the message.

    Returns:
        The text (a byte-order mark is kept: callers drop it at the start of a file).

    Raises:
        ValueError: "SOURCE: not valid UTF-8 at byte N (line L: the decoder's reason, the bytes)", N counting from
            0 at the source's first byte.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        where = f"line {line}: " if line is not None else ""
        found = " ".join(f"0x{byte:02x}" for byte in data[error.start : error.end])
        raise ValueError(
            f"{source}: not valid UTF-8 at byte {offset + error.start:,} ({where}{error.reason} {found}); "
            "save it as UTF-8"
        ) from None


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """`(line number, line without its line break)`, a byte-order mark at the file's start dropped; only "\\n"
    and "\\r\\n" end a line (str.splitlines would also break at characters such as U+2028 that abstracts contain).

    Raises:
        ValueError: a line that is not UTF-8 (`decode_utf8`: the file, the byte and the line).
    """
    offset = 0
    with open(path, "rb") as lines:  # bytes, so that an encoding error is reported at its byte in the file
        for number, raw in enumerate(lines, 1):
            line = decode_utf8(raw, path, offset=offset, line=number)
            offset += len(raw)
            if number == 1:
                line = line.removeprefix(BOM)
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
    for first, lines in pubtator_blocks(path):
        # a block's lines are consecutive: title, abstract, then tab-separated annotation or relation lines
        junk = [i for i, line in enumerate(lines) if not PUBTATOR_TEXT_LINE.match(line) and "\t" not in line]
        if junk:
            problem = "not a PubTator line (ID|t|title, ID|a|abstract or tab-separated fields)"
            yield BadRecord(str(path), first + junk[0], problem)
            continue
        texts = {}  # "t"/"a": (id, text)
        for line in lines:
            match = PUBTATOR_TEXT_LINE.match(line)
            if match:
                texts.setdefault(match.group(2), []).append((match.group(1), line[match.end() :]))
        if len(texts.get("t", ())) != 1 or len(texts.get("a", ())) != 1:
            missing = "title (ID|t|...)" if "t" not in texts else "abstract (ID|a|...)"
            found = sum(map(len, texts.values()))
            problem = f"a PubTator block needs one {missing} line" if found < 2 else "two documents in one block"
            yield BadRecord(str(path), first, problem)
            continue
        # the title and abstract as written: bioc's reader strips each line (which moves the abstract's offsets
        # after a title ending in a space) and splits at U+2028 and the like (str.splitlines)
        (pmid, title), ((_, abstract),) = texts["t"][0], texts["a"]
        try:
            annotations = [
                pubtator_annotation(fields)
                for fields in (line.split("\t") for line in lines if not PUBTATOR_TEXT_LINE.match(line))
                if pubtator_is_annotation(fields)
            ]
        except ValueError as error:
            yield BadRecord(str(path), first, f"bad PubTator annotation line: {error}")
            continue
        yield Document(pmid, title_and_abstract(title, abstract), first, annotations)


def pubtator_is_annotation(fields: list[str]) -> bool:
    """An annotation line (ID, start, end, text, type[, identifier...]) rather than a relation (ID, relation,
    identifier, identifier[, ...]): 6 fields or more, or 5 with numeric offsets (no identifier column at all)."""
    return len(fields) >= 6 or (len(fields) == 5 and fields[1].isdigit() and fields[2].isdigit())


def pubtator_annotation(fields: list[str]) -> tuple[int, int, str, str]:
    """`(start, end, type, text)` of an annotation line's fields, parsed by `bioc.pubtator.loads_ann`.

    Raises:
        ValueError: offsets that are not integers, or identifiers that do not match their texts.
    """
    from bioc import pubtator

    annotation = pubtator.loads_ann(fields if len(fields) >= 6 else [*fields, ""])
    return annotation.start, annotation.end, annotation.type, annotation.text


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
        else:  # read whole: `bioc` has no streaming JSON reader; a BOM would be "invalid JSON"
            text = decode_utf8(path.read_bytes(), path).removeprefix(BOM)
            yield from bioc_documents(path, bioc.biocjson.loads(text).documents)
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


@dataclass
class InputScan:
    """What one pass over an input file found: its `size` (bytes), `sha256` (hex) and `records`: how many records
    `read_documents` will yield (good and bad), or None where it could not tell (a broken BioC JSON file)."""

    size: int
    sha256: str
    records: int | None


def scan_input(path, input_format: str) -> InputScan:
    """Read `path` once, in chunks of `READ_CHUNK_BYTES`, for its size, SHA-256 and number of records: lines (text,
    JSONL), blank-line-separated blocks (PubTator), `<document>` tags (BioC XML), documents (BioC JSON, parsed:
    its reader reads the whole file anyway); and check that it is UTF-8 (BioC XML may declare another encoding:
    its parser checks it).

    Args:
        path: the input file.
        input_format: one of `INPUT_FORMATS`.

    Returns:
        An `InputScan`.

    Raises:
        FileNotFoundError, IsADirectoryError: `path` is not a file.
        ValueError: bytes that are not UTF-8 (`decode_utf8`: the file, the byte and, but for BioC JSON, the line).
    """
    path = Path(path)
    check_input_file(path)
    decoder = codecs.getincrementaldecoder("utf-8")() if input_format != "bioc-xml" else None
    utf8 = True
    digest, size, lines, ends_in_newline = hashlib.sha256(), 0, 0, True
    blocks, in_block, pending, first_line = 0, False, b"", True  # PubTator: counted line by line
    tags, tail = 0, b""  # BioC XML: a tag may straddle two chunks
    whole = []  # BioC JSON
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            if decoder is not None and utf8:
                utf8 = utf8_chunk(decoder, chunk)
            lines += chunk.count(b"\n")
            ends_in_newline = chunk.endswith(b"\n")
            if input_format == "pubtator":
                *complete, pending = (pending + chunk).split(b"\n")
                for line in complete:
                    blocks, in_block = count_block(line, blocks, in_block, first_line)
                    first_line = False
            elif input_format == "bioc-xml":
                window = tail + chunk
                tags += len(BIOC_XML_DOCUMENT_TAG.findall(window))
                tail = window[-len(b"<document") :]  # one byte short of a tag: never counted twice
            elif input_format == "bioc-json":
                whole.append(chunk)
    if decoder is not None and not (utf8 and utf8_chunk(decoder, b"", final=True)):
        # the precise report (byte, line) from the reader's own decoding
        if input_format == "bioc-json":
            decode_utf8(path.read_bytes(), path)
        for _ in numbered_lines(path):
            pass
        raise ValueError(f"{path}: not valid UTF-8")  # not reached: the lines decode as the chunks did
    if input_format in ("text", "jsonl"):
        records = lines + (0 if ends_in_newline else 1)
    elif input_format == "pubtator":
        records = count_block(pending, blocks, in_block, first_line)[0] if pending else blocks
    elif input_format == "bioc-xml":
        records = tags
    else:
        try:
            records = len(json.loads(b"".join(whole).decode("utf-8").removeprefix(BOM))["documents"])
        except (ValueError, KeyError, TypeError):  # the reader reports what is wrong, with its line
            records = None
    return InputScan(size, digest.hexdigest(), records)


def utf8_chunk(decoder, chunk: bytes, final: bool = False) -> bool:
    """Whether `chunk` continues valid UTF-8 (a sequence cut at the chunk's end waits for the next one)."""
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError:
        return False
    return True


def count_block(line: bytes, blocks: int, in_block: bool, first_line: bool) -> tuple[int, bool]:
    """`(blocks, in_block)` after one more line, blank as `pubtator_blocks` sees it (decoded, stripped)."""
    text = line.decode("utf-8", "replace")
    blank = not (text.removeprefix(BOM) if first_line else text).strip()
    return blocks + (not blank and not in_block), not blank
