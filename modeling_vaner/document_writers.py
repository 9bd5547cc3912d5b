"""Writers of annotated documents in the field's exchange formats: JSONL, PubTator (through nothing but text: its
6-field annotation lines read back with the `bioc` package), BioC XML and BioC JSON (the `bioc` package). One per
output format, each `write(record)` for one annotated document, then `close()`. Readers: `documents.py`.
"""

import json
import re
from datetime import date
from pathlib import Path

from .documents import PUBTATOR_NO_IDENTIFIER, Document, Passage

OUTPUT_FORMATS = ("jsonl", "pubtator", "bioc-xml", "bioc-json")
# Stated in every BioC output (PubTator has no header: its identifier column holds PUBTATOR_NO_IDENTIFIER).
NO_IDENTIFIERS = "none: VANER recognises entity mentions, it does not link them to concept identifiers"
LINKED_IDENTIFIERS = (
    "VANER's dictionary linker (modeling_vaner.linking): annotations carry CURIEs (MESH:, OMIM:, NCBIGene:, "
    "NCBITaxon:, DRUGBANK:) in infon 'identifier' with 'identifier_score'; an empty identifier: none close enough"
)
# What PubTator lines cannot hold: the characters at which `str.splitlines` (bioc's reader) breaks a line, and the
# tab that separates fields; written as spaces, one for one, so that no offset moves.
PUBTATOR_UNWRITABLE = re.compile("[\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def open_writer(path, output_format: str, linked: bool = False):
    """A writer of annotated documents to `path` in `output_format` (one of `OUTPUT_FORMATS`).

    Each record written is a dict `{"id", "passages": [{"offset", "text", "infons"}], "entities": [{"start",
    "end", "entity_group", "score", "word"}]}`, entity offsets counting over the document (see `Document.text`).
    JSONL writes `{"id", "entities"}` per line; PubTator the title and abstract lines (the first passage is the
    title; a one-passage document has an empty abstract) and one line per entity, its identifier column the
    entity's "id" (`link=True`) or "identifier" if it has one, else `PUBTATOR_NO_IDENTIFIER` (PubTator has no
    score column; tabs and line breaks, which its lines cannot hold, written as spaces: see `PubTatorWriter`);
    BioC each passage with its entities as annotations (infons type, score and identifier, with identifier_score
    where linked; a location in document offsets), the collection's infons stating whether identifiers are given
    (`linked`).

    Raises:
        ValueError: an unknown format.
    """
    writers = {"jsonl": JsonlWriter, "pubtator": PubTatorWriter, "bioc-xml": BioCXMLWriter, "bioc-json": BioCJSONWriter}
    if output_format not in writers:
        raise ValueError(f"unknown output format {output_format!r}; one of {', '.join(OUTPUT_FORMATS)}")
    if output_format in ("bioc-xml", "bioc-json"):
        return writers[output_format](Path(path), linked=linked)
    return writers[output_format](Path(path))


class JsonlWriter:
    def __init__(self, path: Path):
        self.handle = open(path, "w", encoding="utf-8")

    def write(self, record: dict) -> None:
        self.handle.write(json.dumps({"id": record["id"], "entities": record["entities"]}, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.close()


class PubTatorWriter(JsonlWriter):
    """PubTator that PubTator readers, the `bioc` package's among them, read back with every annotation at its
    offsets: a tab or line break (`PUBTATOR_UNWRITABLE`) is written as a space, one for one; a title's trailing
    whitespace (readers strip each line, which would move every abstract offset) is written at the start of the
    abstract line, which keeps each character at its offset; the identifier column is never empty."""

    def write(self, record: dict) -> None:
        document = record_document(record)
        title = document.passages[0].text
        abstract = document.text()[len(title) + 1 :]
        if len(document.passages) > 1 and document.passages[1].offset < len(title) + 1:
            raise ValueError(f"document {document.id}: its passages overlap: it cannot be written as PubTator")
        title, abstract = pubtator_text(title), pubtator_text(abstract)
        kept = title.rstrip()
        if abstract and len(kept) < len(title):  # "Title.  " + " " + "Abstract" = "Title." + " " + "  Abstract"
            title, abstract = kept, title[len(kept) + 1 :] + " " + abstract
        lines = [f"{document.id}|t|{title}", f"{document.id}|a|{abstract}"]
        for entity in record["entities"]:
            identifier = pubtator_text(str(entity.get("id") or entity.get("identifier") or PUBTATOR_NO_IDENTIFIER))
            fields = (entity["start"], entity["end"], pubtator_text(entity["word"]), entity["entity_group"], identifier)
            lines.append("\t".join(map(str, (document.id, *fields))))
        self.handle.write("\n".join(lines) + "\n\n")


def pubtator_text(text: str) -> str:
    return PUBTATOR_UNWRITABLE.sub(" ", text)


def record_document(record: dict) -> Document:
    passages = [Passage(p["offset"], p["text"], p.get("infons", {})) for p in record["passages"]]
    return Document(record["id"], passages, 0)


def bioc_collection_info(linked: bool = False):
    import bioc

    collection = bioc.BioCCollection()
    collection.source = "VANER"
    collection.date = date.today().isoformat()
    collection.key = "vaner.key"
    collection.infons["concept_identifiers"] = LINKED_IDENTIFIERS if linked else NO_IDENTIFIERS
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
        identifier = entity.get("id") or entity.get("identifier") or ""
        score = f"{entity['score']:.4f}"
        annotation.infons.update({"type": entity["entity_group"], "score": score, "identifier": identifier})
        if entity.get("id_score") is not None:
            annotation.infons["identifier_score"] = f"{entity['id_score']:.4f}"
        annotation.add_location(bioc.BioCLocation(entity["start"], entity["end"] - entity["start"]))
        owner = max((p for p in passages if p.offset <= entity["start"]), key=lambda p: p.offset, default=passages[0])
        owner.add_annotation(annotation)
    return document


class BioCXMLWriter:
    def __init__(self, path: Path, linked: bool = False):
        from bioc import biocxml

        self.writer = biocxml.BioCXMLDocumentWriter(str(path))
        self.writer.write_collection_info(bioc_collection_info(linked))

    def write(self, record: dict) -> None:
        self.writer.write_document(bioc_document(record))

    def close(self) -> None:
        self.writer.close()


class BioCJSONWriter(JsonlWriter):
    """A BioC JSON collection, written document by document (bioc encodes each document)."""

    def __init__(self, path: Path, linked: bool = False):
        from bioc import biocjson

        super().__init__(path)
        self.encode, self.count = biocjson.toJSON, 0
        header = biocjson.toJSON(bioc_collection_info(linked))
        header.pop("documents")
        self.handle.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "documents": [\n')

    def write(self, record: dict) -> None:
        separator = ",\n" if self.count else ""
        self.handle.write(separator + json.dumps(self.encode(bioc_document(record)), ensure_ascii=False))
        self.count += 1

    def close(self) -> None:
        self.handle.write("\n]}\n")
        super().close()
