"""The document formats on their own (no model): PubTator written by us and read back by the `bioc` package with
every annotation intact, byte-order marks dropped in every input format, invalid UTF-8 and directories named, and
the input scan (size, SHA-256, record count) that `vaner annotate` resumes and shows progress by."""

import hashlib
import json
from pathlib import Path

import pytest
from bioc import pubtator

from modeling_vaner import documents
from modeling_vaner.document_writers import open_writer
from modeling_vaner.documents import Document, read_documents, scan_input

BOM = b"\xef\xbb\xbf"


def record(document_id: str, passages: list[tuple[int, str]], spans: list[tuple[int, int, str]], **extra) -> dict:
    """An annotated record as `annotate_file` writes it, entity words cut from the document's text."""
    text = Document(document_id, [documents.Passage(o, t) for o, t in passages], 0).text()
    entities = [
        {"start": s, "end": e, "entity_group": kind, "score": 0.5, "word": text[s:e], **extra} for s, e, kind in spans
    ]
    return {"id": document_id, "passages": [{"offset": o, "text": t} for o, t in passages], "entities": entities}


# Titles ending in whitespace (readers strip each line), line breaks, U+2028 and a tab inside the texts (PubTator
# lines cannot hold them), astral characters, a title of spaces only: every entity must come back at its offsets.
TITLE = "BRCA1 and breast cancer.  "
ABSTRACT = "Mutations in BRCA1\ncause it;\u2028tamoxifen\tand 𝛼-CDDP (cisplatin) in mice."


def in_abstract(word: str, kind: str) -> tuple[int, int, str]:
    start = len(TITLE) + 1 + ABSTRACT.index(word)
    return start, start + len(word), kind


RECORDS = [
    record(
        "100",
        [(0, TITLE), (len(TITLE) + 1, ABSTRACT)],
        [(0, 5, "Gene"), (10, 23, "Disease"), in_abstract("BRCA1", "Gene"), in_abstract("tamoxifen", "Chemical")]
        + [in_abstract("cisplatin", "Chemical"), in_abstract("mice", "Species")],
    ),
    record("200", [(0, "Cisplatin given to mice.")], [(0, 9, "Chemical"), (19, 23, "Species")]),
    record("300", [(0, "   "), (4, "Huntington disease")], [(4, 22, "Disease")]),
]


def write_records(path: Path, output_format: str, records: list[dict]) -> Path:
    writer = open_writer(path, output_format)
    for item in records:
        writer.write(item)
    writer.close()
    return path


@pytest.mark.parametrize("identifier", [None, "MESH:D001943"])
def test_our_pubtator_reads_back_through_bioc_with_every_annotation(tmp_path, identifier):
    records = RECORDS if identifier is None else [
        {**item, "entities": [{**entity, "identifier": identifier} for entity in item["entities"]]} for item in RECORDS
    ]
    path = write_records(tmp_path / "out.pubtator", "pubtator", records)
    with open(path, encoding="utf-8") as handle:
        parsed = pubtator.load(handle)
    assert [document.pmid for document in parsed] == ["100", "200", "300"]
    for document, item in zip(parsed, records, strict=True):
        # bioc reads title + "\n" + abstract: the separator is one character, as in our title + " " + abstract
        text = document.title + "\n" + (document.abstract or "")
        got = [(a.start, a.end, a.text, a.type, a.id) for a in document.annotations]
        wanted = [(e["start"], e["end"], e["word"], e["entity_group"], identifier or "-") for e in item["entities"]]
        assert got == wanted and not document.relations
        assert all(text[a.start : a.end] == a.text for a in document.annotations)
        pubtator.validate(document)  # bioc's own offset check raises on a mismatch
    # and this module's reader: the same documents (line breaks and tabs written as spaces, one for one)
    back = list(read_documents(path, "pubtator"))
    for document, item in zip(back, records, strict=True):
        written = Document(item["id"], [documents.Passage(p["offset"], p["text"]) for p in item["passages"]], 0)
        assert len(document.text()) >= len(written.text())
        assert [(s, e, kind, word) for s, e, kind, word in document.annotations] == [
            (e["start"], e["end"], e["entity_group"], e["word"]) for e in item["entities"]
        ]
        assert all(document.text()[s:e] == word for s, e, _, word in document.annotations)


def test_pubtator_files_of_others_still_read(tmp_path):
    """An empty identifier column (stripped by readers), none at all, and a relation line."""
    path = tmp_path / "in.pubtator"
    path.write_text(
        "1|t|Tamoxifen in mice\n1|a|It helps.\n1\t0\t9\tTamoxifen\tChemical\t\n1\t13\t17\tmice\tSpecies\n"
        "1\tCID\tD1\tD2\n",
        encoding="utf-8",
    )
    (document,) = read_documents(path, "pubtator")
    assert document.annotations == [(0, 9, "Chemical", "Tamoxifen"), (13, 17, "Species", "mice")]


def bom_file(tmp_path: Path, input_format: str) -> tuple[Path, str]:
    """A file of `input_format` whose first document is "Mice carry BRCA1." (id "7"), with an annotation of BRCA1
    where the format carries annotations, starting with a UTF-8 byte-order mark."""
    text = "Mice carry BRCA1."
    path = tmp_path / f"bom.{input_format}"
    if input_format == "text":
        path.write_bytes(BOM + f"{text}\nSecond.\n".encode())
    elif input_format == "jsonl":
        path.write_bytes(BOM + (json.dumps({"id": "7", "text": text}) + '\n{"id": "8", "text": "Second."}\n').encode())
    else:
        path = write_records(path, input_format, [
            record("7", [(0, text)], [(11, 16, "Gene")]), record("8", [(0, "Second.")], []),
        ])
        path.write_bytes(BOM + path.read_bytes())
    return path, text


@pytest.mark.parametrize("input_format", ["text", "jsonl", "pubtator", "bioc-xml", "bioc-json"])
def test_a_byte_order_mark_is_dropped_before_parsing(tmp_path, input_format):
    path, text = bom_file(tmp_path, input_format)
    records = list(read_documents(path, input_format))
    assert all(isinstance(item, Document) for item in records), records
    assert len(records) == 2 == scan_input(path, input_format).records
    first = records[0]
    assert first.id == ("1" if input_format == "text" else "7")
    assert first.text().rstrip() == text  # PubTator's one-passage document reads back with an empty abstract
    if input_format not in ("text", "jsonl"):
        assert first.annotations == [(11, 16, "Gene", "BRCA1")]


@pytest.mark.parametrize(
    ("input_format", "content", "where"),
    [
        ("text", b"Mice.\nSecond caf\xe9 line.\n", "at byte 16 (line 2: invalid continuation byte 0xe9)"),
        ("jsonl", b'{"text": "ok"}\n{"text": "\xff"}\n', "at byte 25 (line 2: invalid start byte 0xff)"),
        ("pubtator", BOM + b"1|t|T\n1|a|A\xc3", "at byte 14 (line 2: unexpected end of data 0xc3)"),
        ("bioc-json", b'{"documents": [\xfe]}', "at byte 15 (invalid start byte 0xfe)"),
    ],
)
def test_invalid_utf8_names_the_file_and_the_byte(tmp_path, input_format, content, where):
    path = tmp_path / f"in.{input_format}"
    path.write_bytes(content)
    message = f"{path}: not valid UTF-8 {where}; save it as UTF-8"
    with pytest.raises(ValueError) as scanned:
        scan_input(path, input_format)
    with pytest.raises(ValueError) as read:
        list(read_documents(path, input_format))
    assert str(scanned.value) == str(read.value) == message


def test_a_directory_is_named_as_one(tmp_path):
    for call in (lambda: read_documents(tmp_path, "text"), lambda: scan_input(tmp_path, "jsonl")):
        with pytest.raises(IsADirectoryError, match=f"^{tmp_path} is a directory: give a file$"):
            call()
    with pytest.raises(FileNotFoundError, match="no such file"):
        scan_input(tmp_path / "absent.txt", "text")


@pytest.mark.parametrize("chunk_bytes", [3, 7, 1 << 20])
def test_the_scan_counts_what_the_readers_yield(tmp_path, monkeypatch, chunk_bytes):
    """Counted in chunks (as small as 3 bytes here, so that lines, blocks and tags straddle them), the records are
    those the reader yields, bad ones included; size and SHA-256 are the file's."""
    monkeypatch.setattr(documents, "READ_CHUNK_BYTES", chunk_bytes)
    files = {
        "text": "a\n\nb\u2028c\nlast line without a break",
        "jsonl": '{"text": "a"}\n\nnot json\n{"text": "b"}\n',
        "pubtator": "\n \n1|t|T\n1|a|A\n1\t0\t1\tT\tGene\t-\n \n\u00a0\n2|t|U\n\n\n3|t|V\n3|a|W",
    }
    for input_format, content in files.items():
        path = tmp_path / f"in.{input_format}"
        path.write_text(content, encoding="utf-8")
        scan = scan_input(path, input_format)
        data = path.read_bytes()
        assert (scan.size, scan.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert scan.records == len(list(read_documents(path, input_format))), input_format
    many = [record(str(n), [(0, f"Mouse {n}.")], []) for n in range(5)]
    for input_format in ("bioc-xml", "bioc-json"):
        path = write_records(tmp_path / f"many.{input_format}", input_format, many)
        assert scan_input(path, input_format).records == 5 == len(list(read_documents(path, input_format)))
    broken = tmp_path / "broken.json"
    broken.write_text('{"documents": [', encoding="utf-8")
    assert scan_input(broken, "bioc-json").records is None  # the reader says what is wrong, with its line
