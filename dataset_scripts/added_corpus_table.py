"""The corpora added to the paper's eight (issue 33), one `Corpus` per (corpus, entity type): train and validation
only, each document sharing a PMID or a sentence with a dev or test split of the paper's corpora dropped
(`extra_corpora.leakage_filter`). `corpus_table.CORPORA` lists them after the paper's.
"""

from __future__ import annotations

from .corpus_sources import (
    JNLPBA_CITATION,
    MTL_LICENCE,
    Corpus,
    DocumentSplit,
    Source,
    Split,
    aioner,
    baderlab,
    biobert,
    hunflair,
    mtl,
)


def _mtl_added_splits(mtl_dir: str, local_dir: str) -> dict[str, Split]:
    """An added corpus's MTL train and devel files (its test file is never read)."""
    return {
        "train": Split(mtl(f"{local_dir}/train.tsv", f"{mtl_dir}/train.tsv")),
        "validation": Split(mtl(f"{local_dir}/devel.tsv", f"{mtl_dir}/devel.tsv")),
    }


def _seeded_splits(source: Source) -> dict[str, Split]:
    """Train and validation from one file: the corpus's `dev_split` decides which documents are which."""
    return {"train": Split(source), "validation": Split(source)}


# BioBERT's JNLPBA train sentences, labelled from BaderLab's files of the GENIA training data (`Split.label_sources`).
_GENIA_TRAIN = Split(
    biobert("JNLPBA/BioBERT/train.tsv", "JNLPBA/train.tsv"),
    label_sources=(
        baderlab("JNLPBA/BaderLab_JNLPBA_BIO/train.tsv", "JNLPBA_BIO/train.tsv"),
        baderlab("JNLPBA/BaderLab_JNLPBA_BIO/valid.tsv", "JNLPBA_BIO/valid.tsv"),
    ),
)
GENIA_TRAIN_LABELS = {"train": _GENIA_TRAIN, "validation": _GENIA_TRAIN}

# The added corpora without an official dev split: one seed and share for all, recorded per corpus (`dev_split`).
EXTRA_DEV_SPLIT = DocumentSplit(seed=33, dev_share=0.15)
BIONLP13PC_CITATION = (
    "Ohta T, Pyysalo S, Rak R, et al. Overview of the pathway curation (PC) task of BioNLP Shared Task 2013. "
    "Proceedings of the BioNLP Shared Task 2013 Workshop, 67-75 (2013)."
)
VARIOME_CITATION = (
    "Verspoor K, Jimeno Yepes A, Cavedon L, et al. Annotating the biomedical literature for the human variome. "
    "Database 2013, bat019 (2013). doi:10.1093/database/bat019"
)
# Variome's types that map to no VANER type (and its UMLS semantic-group layer: Disorder, Living_Beings, ... are a
# second, automatic annotation over the same text, not the corpus's manual gene and disease mentions).
VARIOME_OTHER_TYPES = frozenset({
    "age", "body-part", "characteristic", "cohort-patient", "ethnicity", "gender", "mutation", "size", "Anatomy",
    "Chemicals_Drugs", "Concepts_Ideas", "Disorder", "Living_Beings", "Ph", "Phenomena", "Physiology", "Procedures",
})
VARIOME_NOTES = (
    "The Human Variome corpus's BioC file (paragraphs of PMC articles): a document is an article (its paragraphs "
    "are never split between train and validation). gene is Gene, disease is Disease; relations and the other "
    "types do not map (O); '** IGNORE LINE **' placeholders are read as blank. No licence stated (not exported)."
)
GENIA_CELL_NOTES = (
    "GENIA's cell_line (CLLN) and cell_type (CLTP) labels of BaderLab's JNLPBA copy (train.tsv and valid.tsv: the "
    "GENIA training data), carried onto the sentences of BioBERT's JNLPBA train split only (matched with whitespace "
    "removed; BioBERT's devel sentences, which BaderLab's train file also holds, and the test file are never "
    "used), on BioBERT's tokens; the validation split is a seeded split of those GENIA abstracts."
)

ADDED_CORPORA: tuple[Corpus, ...] = (
    # The added corpora (issue 33): train and validation only, each document sharing a PMID or a sentence with a
    # dev or test split of the paper's corpora dropped (`extra_corpora.leakage_filter`). Types that do not map
    # to a VANER type are `ignored_tag_types` (read as O).
    # type_only: "as-is" where the gold is PubTator3's own training data (GNormPlus, AIONER's BioID revision);
    # "converted" for the other Gene and CellLine corpora (the guideline converts those types); "dataset-only"
    # where no conversion exists (BioNLP13PC's chemicals, Variome's diseases, GENIA's cell types).
    Corpus(
        name="gnormplus",
        display_name="GNormPlus",
        type_only="as-is",
        entity_type="Gene",
        splits=_seeded_splits(aioner("GNormPlus_Train.PubTator")),
        tag_types=frozenset({"Gene"}),
        ignored_tag_types=frozenset({"FamilyName", "DomainMotif"}),
        licence="mit",
        citation="Wei C-H, Kao H-Y, Lu Z. GNormPlus: an integrative approach for tagging genes, gene families, "
        "and protein domains. BioMed Research International 2015, 918710 (2015). doi:10.1155/2015/918710",
        dev_split=EXTRA_DEV_SPLIT,
        notes="AIONER's PubTator training file (PubTator's Gene guideline); gene families and protein domains are "
        "O (VANER's Gene is BC2GM's gene mention, not a family). Licence: the AIONER repository's MIT licence.",
    ),
    Corpus(
        name="bioid-cellline",
        display_name="BioID (cell lines)",
        type_only="as-is",
        entity_type="CellLine",
        splits=_seeded_splits(aioner("BioID_Train_revision.PubTator")),
        tag_types=frozenset({"CellLine"}),
        licence="mit",
        citation="Arighi C, Hirschman L, Lemberger T, et al. Bio-ID track overview. Proceedings of the "
        "BioCreative VI Workshop, 28-31 (2017).",
        dev_split=EXTRA_DEV_SPLIT,
        notes="AIONER's revision of the BioID training figure captions, which keeps only cell lines. A document is "
        "a figure (the first 7 digits of the panel id: panels of one figure share their caption), not a panel.",
    ),
    Corpus(
        name="bionlp13pc-gene",
        display_name="BioNLP13PC (genes)",
        type_only="converted",
        entity_type="Gene",
        splits=_mtl_added_splits("BioNLP13PC-IOB", "BioNLP13PC"),
        tag_types=frozenset({"Gene_or_gene_product"}),
        ignored_tag_types=frozenset({"Simple_chemical", "Complex", "Cellular_component"}),
        licence="cc-by-sa-3.0",
        citation=BIONLP13PC_CITATION,
        notes="MTL conversion, official train/devel. Gene_or_gene_product is Gene; Complex and Cellular_component "
        "do not map (O). Licence: the folder's LICENSE (annotations CC BY-SA 3.0).",
    ),
    Corpus(
        name="bionlp13pc-chem",
        display_name="BioNLP13PC (chemicals)",
        type_only="dataset-only",
        entity_type="Chemical",
        splits=_mtl_added_splits("BioNLP13PC-IOB", "BioNLP13PC"),
        tag_types=frozenset({"Simple_chemical"}),
        ignored_tag_types=frozenset({"Gene_or_gene_product", "Complex", "Cellular_component"}),
        licence="cc-by-sa-3.0",
        citation=BIONLP13PC_CITATION,
        notes="As bionlp13pc-gene; Simple_chemical is Chemical.",
    ),
    Corpus(
        name="bionlp13ge",
        display_name="BioNLP13GE",
        type_only="converted",
        entity_type="Gene",
        splits=_mtl_added_splits("BioNLP13GE-IOB", "BioNLP13GE"),
        tag_types=frozenset({"Protein"}),
        licence=MTL_LICENCE,
        citation="Kim J-D, Wang Y, Yasunori Y. The Genia Event Extraction Shared Task, 2013 Edition - Overview. "
        "Proceedings of the BioNLP Shared Task 2013 Workshop, 8-15 (2013).",
        notes="MTL conversion, official train/devel; Protein (gene products, GENIA's guideline) is Gene.",
    ),
    Corpus(
        name="bionlp11epi",
        display_name="BioNLP11EPI",
        type_only="converted",
        entity_type="Gene",
        splits=_mtl_added_splits("BioNLP11EPI-IOB", "BioNLP11EPI"),
        tag_types=frozenset({"Protein"}),
        licence=MTL_LICENCE,
        citation="Ohta T, Pyysalo S, Tsujii J. Overview of the epigenetics and post-translational modifications "
        "(EPI) task of BioNLP Shared Task 2011. Proceedings of the BioNLP Shared Task 2011 Workshop, 16-25 (2011).",
        notes="MTL conversion, official train/devel; Protein is Gene.",
    ),
    Corpus(
        name="ex-ptm",
        display_name="Ex-PTM",
        type_only="converted",
        entity_type="Gene",
        splits=_mtl_added_splits("Ex-PTM-IOB", "Ex-PTM"),
        tag_types=frozenset({"Protein"}),
        licence=MTL_LICENCE,
        citation="Pyysalo S, Ohta T, Miwa M, Tsujii J. Towards exhaustive protein modification event extraction. "
        "Proceedings of BioNLP 2011 Workshop, 114-123 (2011).",
        notes="MTL conversion, official train/devel; Protein is Gene.",
    ),
    Corpus(
        name="cll",
        display_name="CLL",
        type_only="converted",
        entity_type="CellLine",
        splits=_seeded_splits(hunflair("cll/CLL_corpus.tar.gz", "brat-tar")),
        tag_types=frozenset({"CL"}),
        licence="cc-by-sa-3.0",
        citation="Kaewphan S, Van Landeghem S, Ohta T, Van de Peer Y, Ginter F, Pyysalo S. Cell line name "
        "recognition in support of the identification of synthetic lethality in cancer from text. Bioinformatics "
        "32, 276-282 (2016). doi:10.1093/bioinformatics/btv570",
        dev_split=EXTRA_DEV_SPLIT,
        notes="CLL 1.0.2's brat standoff files (abstracts and PMC extracts); no official split. Licence: the "
        "archive's LICENSE (annotations CC BY-SA 3.0).",
    ),
    Corpus(
        name="osiris",
        display_name="OSIRIS",
        type_only="converted",
        entity_type="Gene",
        splits=_seeded_splits(hunflair("osiris/OSIRIScorpusv02.tar", "osiris-tar")),
        tag_types=frozenset({"ge"}),
        # the sequence-variant parts (state original/altered, location, type) and the evidence and group marks
        ignored_tag_types=frozenset({"so", "sa", "lo", "ty", "ev", "sg"}),
        licence="none stated",
        citation="Furlong LI, Dach H, Hofmann-Apitius M, Sanz F. OSIRISv1.2: a named entity recognition system for "
        "sequence variants of genes in biomedical literature. BMC Bioinformatics 9, 84 (2008). "
        "doi:10.1186/1471-2105-9-84",
        dev_split=EXTRA_DEV_SPLIT,
        notes="OSIRIS v0.2 (105 abstracts); ge is Gene, the variant annotations do not map (O). No licence stated "
        "(not exported).",
    ),
    Corpus(
        name="variome-gene",
        display_name="Variome (genes)",
        type_only="converted",
        entity_type="Gene",
        splits=_seeded_splits(hunflair("variome/hvp_bioc.xml.zip", "bioc-zip")),
        tag_types=frozenset({"gene"}),
        ignored_tag_types=VARIOME_OTHER_TYPES | {"disease"},
        licence="none stated",
        citation=VARIOME_CITATION,
        dev_split=EXTRA_DEV_SPLIT,
        notes=VARIOME_NOTES,
    ),
    Corpus(
        name="variome-disease",
        display_name="Variome (diseases)",
        type_only="dataset-only",
        entity_type="Disease",
        splits=_seeded_splits(hunflair("variome/hvp_bioc.xml.zip", "bioc-zip")),
        tag_types=frozenset({"disease"}),
        ignored_tag_types=VARIOME_OTHER_TYPES | {"gene"},
        licence="none stated",
        citation=VARIOME_CITATION,
        dev_split=EXTRA_DEV_SPLIT,
        notes=VARIOME_NOTES,
    ),
    Corpus(
        name="jnlpba-cellline",
        display_name="JNLPBA (cell lines)",
        type_only="converted",
        entity_type="CellLine",
        splits=GENIA_TRAIN_LABELS,
        tag_types=frozenset({"CLLN"}),
        ignored_tag_types=frozenset({"PRGE", "DNA", "RNA", "CLTP"}),
        licence="cc-by-3.0",
        citation=JNLPBA_CITATION,
        dev_split=EXTRA_DEV_SPLIT,
        notes=GENIA_CELL_NOTES,
    ),
    Corpus(
        name="jnlpba-celltype",
        display_name="JNLPBA (cell types)",
        type_only="dataset-only",
        entity_type="CellType",
        splits=GENIA_TRAIN_LABELS,
        tag_types=frozenset({"CLTP"}),
        ignored_tag_types=frozenset({"PRGE", "DNA", "RNA", "CLLN"}),
        licence="cc-by-3.0",
        citation=JNLPBA_CITATION,
        dev_split=EXTRA_DEV_SPLIT,
        notes=GENIA_CELL_NOTES + " A data row only: CellType is not a vaner-smol 3 type (dev ablation, "
        "docs/RESULTS.md).",
    ),
)
