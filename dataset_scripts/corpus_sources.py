"""What a row of the corpus table holds (`Corpus`, `Split`, `Source`, `DocumentSplit`), the public repositories its
files come from, pinned to a commit, and the citations and licence several rows share. The rows are in
`corpus_table.py` (the paper's eight) and `added_corpus_table.py` (issue 33's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .tagged_files import Repair

SPLITS = ("train", "validation", "test")
TYPE_ONLY_CHOICES = ("as-is", "converted", "dataset-only")  # `Corpus.type_only`


@dataclass(frozen=True)
class Repository:
    """A public GitHub repository, pinned to the commit the files were taken from."""

    name: str
    commit: str

    def url(self, path: str) -> str:
        return f"https://raw.githubusercontent.com/{self.name}/{self.commit}/{path}"


MTL = Repository("cambridgeltl/MTL-Bioinformatics-2016", "df0df02fae6dbb87d88ffcf323b9096528f06f84")
VANER = Repository("Eulring/VANER", "239b273439e38228f45075bb27f577bcbff3d3b4")
BADERLAB = Repository("BaderLab/Biomedical-Corpora", "16a661de8ed604dc71da0fcd3d29fcf3bc2ab5ce")
# A copy of BioBERT's NER data; its JNLPBA files were removed after this commit.
BIOBERT = Repository("BioMedBERT/biomedbert", "93fd69d6fb59e5c04b5a1ac7668117643c4a8583")
# The added corpora (issue 33): AIONER's PubTator training files, and HunFlair's re-hosted archives.
AIONER = Repository("ncbi/AIONER", "b8fa941dc8f49e1c99756832da0c61e9c58dcef8")
HUNFLAIR = Repository("hu-ner/hunflair-corpora", "60bce122eb816984f1e2c03e08bea6e73f65d6b1")


@dataclass(frozen=True)
class Source:
    """One file: its path relative to a local corpora directory, and where it is published.

    The helpers `mtl`, `baderlab`, `biobert` and `vaner_jsonl` spell the layouts of the source repositories."""

    local: str
    repository: Repository
    path: str
    # "tsv": token<TAB>tag IOB2 lines; "jsonl": the VANER release (prompt + tokens, ner_tags); the added corpora's
    # documents with character-offset mentions (`extra_formats.py`): "pubtator", "brat-tar" (brat standoff .txt/.ann
    # pairs in a .tar.gz), "osiris-tar" (OSIRIS articleN.txt/.txt.ann in a .tar), "bioc-zip" (one BioC XML in a .zip)
    format: str

    @property
    def url(self) -> str:
        return self.repository.url(self.path)


def mtl(local: str, path: str) -> Source:
    return Source(local, MTL, f"data/{path}", "tsv")


def baderlab(local: str, path: str) -> Source:
    return Source(local, BADERLAB, f"corpora/NER/CoNLL/BIO/{path}", "tsv")


def biobert(local: str, path: str) -> Source:
    return Source(local, BIOBERT, f"datasets/NER/{path}", "tsv")


def aioner(name: str) -> Source:
    return Source(f"AIONER/pubtator/{name}", AIONER, f"data/pubtator/{name}", "pubtator")


def hunflair(path: str, file_format: str) -> Source:
    return Source(f"hunflair/{path}", HUNFLAIR, path, file_format)


def vaner_jsonl(corpus_dir: str, split_file: str) -> Source:
    return Source(
        f"vaner_dbr/{corpus_dir}/{split_file}_df_mix2.jsonl",
        VANER,
        f"data/vaner_datacohort/{corpus_dir}/{split_file}_df_mix2.jsonl",
        "jsonl",
    )


@dataclass(frozen=True)
class Split:
    """A split is one source file, minus the sentences (matched by token sequence) of the splits in `minus`.

    `label_sources`: files whose labels are carried onto the source's sentences, matched by their text with whitespace
    removed (`extra_corpora.transfer_labels`); a sentence none of them holds is left out, and counted."""

    source: Source
    minus: tuple[str, ...] = ()
    label_sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class DocumentSplit:
    """A seeded document-level dev split of a corpus without an official one: the documents (sorted by id) are
    shuffled with `random.Random(seed)` and the first round(`dev_share` x documents) are the validation split."""

    seed: int
    dev_share: float


@dataclass(frozen=True)
class Corpus:
    name: str
    display_name: str
    entity_type: str  # the one type the corpus annotates (one of VANER_ENTITY_TYPES)
    splits: Mapping[str, Split]  # the added corpora have train and validation only: their test splits are never read
    # tag types (B-<type>) of the entity, or the annotation types of a document format; untyped B/I tags are always
    # accepted
    tag_types: frozenset[str]
    licence: str  # as the source states it; "none stated": not exported (`export.NOT_EXPORTED_LICENCES`)
    citation: str
    # The paper's eight (`PAPER_CORPORA`): Table 1's test F1 (%) and Table 2's counts. None for the added corpora.
    paper_f1: float | None = None
    table2_sentences: tuple[int, int, int] | None = None
    table2_entities: int | None = None
    ignored_tag_types: frozenset[str] = frozenset()  # typed tags (or annotation types) read as O
    repairs: tuple[Repair, ...] = ()
    notes: str = ""  # source differences against Table 2
    missing_hint: str = ""  # added to the error when a file of the corpus is missing
    # Without an official dev split: the seeded document split that makes one (recorded here, deterministic).
    dev_split: DocumentSplit | None = None
    # The type-only instruction's one guideline (docs/GUIDELINES.md): "as-is" (the gold already follows it),
    # "converted" (dataset_scripts/guideline.py converts it: Gene, CellLine and Species) or "dataset-only" (it
    # cannot be: the corpus gets no type-only rows, and its gold is never scored as the guideline's).
    type_only: str = "as-is"

    def __post_init__(self):
        if self.type_only not in TYPE_ONLY_CHOICES:
            raise ValueError(f"corpus {self.name}: type_only {self.type_only!r}; expected one of "
                             f"{', '.join(TYPE_ONLY_CHOICES)}")

    @property
    def paper(self) -> bool:
        """One of the VANER paper's eight corpora; the added ones (issue 33) drop every document that shares a PMID
        or a sentence with a dev or test split of the paper's corpora (`extra_corpora.leakage_filter`)."""
        return self.paper_f1 is not None


MTL_CITATION = (
    "Crichton G, Pyysalo S, Chiu B, Korhonen A. A neural network multi-task learning approach to biomedical "
    "named entity recognition. BMC Bioinformatics 18, 368 (2017). doi:10.1186/s12859-017-1776-8"
)
MTL_LICENCE = "cc-by-4.0"
BC5CDR_CITATION = (
    "Li J, Sun Y, Johnson RJ, et al. BioCreative V CDR task corpus: a resource for chemical disease relation "
    "extraction. Database 2016, baw068 (2016). doi:10.1093/database/baw068"
)
BIOBERT_SPLIT_REPAIR = "BioBERT's sentence splitter cut an entity; the sentence-initial I is read as B"
JNLPBA_CITATION = (
    "Kim J-D, Ohta T, Tsuruoka Y, Tateisi Y, Collier N. Introduction to the bio-entity recognition task at JNLPBA. "
    "Proceedings of JNLPBA 2004, 70-75 (2004)."
)
