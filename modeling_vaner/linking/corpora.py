"""Gold mentions with identifiers: PubTator files, CURIEs, and the splits the linking evaluation and the
dictionaries use (all under the linking data directory, `dataset_scripts/linking_data.py`).

Splits (`LINKING_CORPORA`): NCBI-disease and BC5CDR are AIONER's PubTator files, their train and dev documents
those of BioSyn's `processed_train` and `processed_dev`; S800 is AIONER's SPECIES files, whose train file also holds
documents of S800's standard dev and test splits (Pyysalo's lists, `splits/s800/`): dev is the train file's
standard-dev documents, train the rest minus every standard-test document, test AIONER's test file; LINNAEUS (train
and test only) gives every eighth train document (by PMID) to dev; GNormPlus has its train split only here.
"""

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# PubTator types of the gold files -> the linker's types (NCBI-disease's four classes are all Disease)
GOLD_TYPES = {
    "SpecificDisease": "Disease", "DiseaseClass": "Disease", "Modifier": "Disease", "CompositeMention": "Disease",
    "Disease": "Disease", "Chemical": "Chemical", "Gene": "Gene", "Species": "Species",
}
CURIE_PREFIXES = {"Disease": "MESH", "Chemical": "MESH", "Gene": "NCBIGene", "Species": "NCBITaxon"}
KNOWN_PREFIXES = {"mesh": "MESH", "omim": "OMIM", "ncbigene": "NCBIGene", "ncbitaxon": "NCBITaxon",
                  "drugbank": "DRUGBANK", "taxonomy": "NCBITaxon", "gene": "NCBIGene"}
_TAXON = re.compile(r"\(Tax:(\d+)\)")
_SEPARATORS = re.compile(r"[|,;+]")


def curie(identifier: str, entity_type: str) -> str:
    """An identifier as a CURIE: bare MeSH ids ("D003924", "C535964") -> `MESH:`, bare digits -> `OMIM:` for
    diseases, `NCBIGene:` for genes, `NCBITaxon:` for species; a known prefix is spelled as Bioregistry does
    ("mesh:D1" -> "MESH:D1"); anything else is returned unchanged."""
    identifier = identifier.strip()
    if ":" in identifier:
        prefix, local = identifier.split(":", 1)
        return f"{KNOWN_PREFIXES.get(prefix.casefold(), prefix)}:{local}"
    if re.fullmatch(r"[CD]\d+", identifier):
        return f"MESH:{identifier}"
    if identifier.isdigit():
        if entity_type == "Disease":
            return f"OMIM:{identifier}"
        if entity_type in CURIE_PREFIXES:
            return f"{CURIE_PREFIXES[entity_type]}:{identifier}"
    return identifier


def gold_identifiers(raw: str, entity_type: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(CURIEs, taxa) of a gold identifier field: ids separated by | , ; or +, each a CURIE; "-1", "0" (LINNAEUS's
    "no identifier") and empty fields give none; GNormPlus's "(Tax:10090)" suffix is removed and its taxon
    returned (genes without one are human)."""
    taxa = tuple(dict.fromkeys(_TAXON.findall(raw)))
    ids = [part.strip() for part in _SEPARATORS.split(_TAXON.sub("", raw))]
    return tuple(dict.fromkeys(curie(i, entity_type) for i in ids if i and i not in ("-1", "0"))), taxa


@dataclass
class GoldMention:
    document: str
    start: int
    end: int
    text: str
    entity_type: str
    identifiers: tuple[str, ...]
    taxa: tuple[str, ...] = ()
    composite: bool = False  # several ids joined by "+" or "|": any of them counts as right


@dataclass
class GoldDocument:
    pmid: str
    text: str
    mentions: list[GoldMention] = field(default_factory=list)


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


def read_pubtator(path: str | Path, strict: bool = False) -> list[GoldDocument]:
    """The documents of a PubTator file (title and abstract joined by a space, as offsets count them) with their
    annotations of the types in `GOLD_TYPES` (others, e.g. GNormPlus's FamilyName, are skipped).

    Args:
        path: the PubTator file.
        strict: raise on an annotation whose text is not the document's at its offsets (GNormPlus's train file has
            some); else such annotations are kept (their own text) and counted in one warning naming the first.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line that is neither text nor a well-formed annotation, or an annotation whose letters and
            digits are not those of the document at its offsets (file and line named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"PubTator file not found: {path}")
    documents: dict[str, GoldDocument] = {}
    parts: dict[str, list[str]] = {}
    annotations: list[tuple[int, list[str]]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            text_line = re.match(r"^([^\t|]+)\|([ta])\|(.*)$", line)
            if text_line:
                parts.setdefault(text_line.group(1), []).append(text_line.group(3))
                continue
            fields = line.split("\t")
            if len(fields) < 5 or not fields[1].isdigit() or not fields[2].isdigit():
                raise ValueError(f"{path}:{number}: not a PubTator text or annotation line: {line[:80]!r}")
            annotations.append((number, fields))
    for pmid, texts in parts.items():
        documents[pmid] = GoldDocument(pmid, " ".join(texts))
    mismatches: list[str] = []
    for number, fields in annotations:
        pmid, start, end, text, raw_type = fields[0], int(fields[1]), int(fields[2]), fields[3], fields[4]
        if raw_type not in GOLD_TYPES:
            continue
        document = documents.get(pmid)
        if document is None:
            raise ValueError(f"{path}:{number}: annotation of document {pmid}, which has no text")
        if _letters(document.text[start:end]) != _letters(text):  # NCBI-disease writes some quotes as spaces
            message = f"{path}:{number}: {text!r} is not the text at {start}-{end} of document {pmid}"
            if strict:
                raise ValueError(message)
            mismatches.append(message)
        entity_type = GOLD_TYPES[raw_type]
        raw = fields[5] if len(fields) > 5 else ""
        ids, taxa = gold_identifiers(raw, entity_type)
        composite = raw_type == "CompositeMention" or "+" in raw or ("|" in raw and entity_type == "Disease")
        document.mentions.append(GoldMention(pmid, start, end, text, entity_type, ids, taxa, composite))
    if mismatches:
        logger.warning("%d annotation(s) whose text is not the document's at their offsets, kept; first: %s",
                       len(mismatches), mismatches[0])
    return list(documents.values())


@dataclass(frozen=True)
class LinkingCorpus:
    name: str
    entity_types: tuple[str, ...]
    files: dict[str, str]  # split -> PubTator file under pubtator/ (train and dev may share one)


LINKING_CORPORA = {
    corpus.name: corpus
    for corpus in (
        LinkingCorpus("ncbi-disease", ("Disease",), {
            "train": "NCBIdisease_TrainDev", "dev": "NCBIdisease_TrainDev", "test": "NCBIdisease_Test"}),
        LinkingCorpus("bc5cdr", ("Disease", "Chemical"), {
            "train": "BC5CDR_TrainDev", "dev": "BC5CDR_TrainDev", "test": "BC5CDR_Test"}),
        LinkingCorpus("s800", ("Species",), {"train": "SPECIES_Train", "dev": "SPECIES_Train", "test": "SPECIES_Test"}),
        LinkingCorpus("linnaeus", ("Species",), {
            "train": "Linnaeus_Train", "dev": "Linnaeus_Train", "test": "Linnaeus_Test"}),
        LinkingCorpus("gnormplus", ("Gene",), {"train": "GNormPlus_Train"}),
    )
}
BIOSYN_SPLIT_DIRS = {"ncbi-disease": "ncbi-disease", "bc5cdr": "bc5cdr-disease"}


def _biosyn_documents(data_dir: Path, corpus: str, split: str) -> set[str]:
    directory = data_dir / "biosyn" / BIOSYN_SPLIT_DIRS[corpus] / f"processed_{split}"
    if not directory.is_dir():
        raise FileNotFoundError(f"BioSyn split directory not found: {directory} (dataset_scripts/linking_data.py)")
    return {path.stem for path in directory.glob("*.concept")}


def _s800_list(data_dir: Path, split: str) -> set[str]:
    path = data_dir / "splits" / "s800" / f"{split}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"S800 split list not found: {path} (dataset_scripts/linking_data.py --s800-split)")
    return {line.strip().split(":")[-1] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def split_documents(corpus: str, split: str, data_dir: str | Path) -> list[GoldDocument]:
    """The gold documents of one split of a linking corpus (see the module docstring).

    Raises:
        ValueError: an unknown corpus or a split it does not have.
        FileNotFoundError: a file of the linking data directory is missing.
    """
    if corpus not in LINKING_CORPORA:
        raise ValueError(f"unknown linking corpus {corpus!r}; known: {sorted(LINKING_CORPORA)}")
    files = LINKING_CORPORA[corpus].files
    if split not in files:
        raise ValueError(f"linking corpus {corpus} has no {split} split here; it has {sorted(files)}")
    data_dir = Path(data_dir)
    documents = read_pubtator(data_dir / "pubtator" / f"{files[split]}.PubTator")
    if corpus in BIOSYN_SPLIT_DIRS and split in ("train", "dev"):
        keep = _biosyn_documents(data_dir, corpus, split)
        return [d for d in documents if d.pmid in keep]
    if corpus == "s800" and split in ("train", "dev"):
        standard_dev, standard_test = _s800_list(data_dir, "devel"), _s800_list(data_dir, "test")
        test_file = {d.pmid for d in read_pubtator(data_dir / "pubtator" / f"{files['test']}.PubTator")}
        if split == "dev":
            return [d for d in documents if d.pmid in standard_dev and d.pmid not in standard_test]
        return [d for d in documents if d.pmid not in standard_dev | standard_test | test_file]
    if corpus == "linnaeus" and split in ("train", "dev"):
        order = sorted(documents, key=lambda d: (len(d.pmid), d.pmid))
        dev = {d.pmid for d in order[::8]}
        return [d for d in documents if (d.pmid in dev) == (split == "dev")]
    return documents


def gold_mentions(documents: list[GoldDocument], entity_type: str) -> Iterator[tuple[GoldDocument, GoldMention]]:
    """(document, mention) for every mention of `entity_type` that has at least one identifier."""
    for document in documents:
        for mention in document.mentions:
            if mention.entity_type == entity_type and mention.identifiers:
                yield document, mention
