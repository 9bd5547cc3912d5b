"""The corpus table: every fact about the VANER training corpora, one `Corpus` per (corpus, entity type) in
`CORPORA`: the paper's eight (`PAPER_CORPORA`, here) and the corpora added by issue 33 (`added_corpus_table.py`:
train and validation only).

Per corpus: the entity type, the paper's F1 (the paper's eight), the file of each split in a local mirror laid out
like shared/corpora and at its public URL (a raw-GitHub URL at a pinned commit), the tag types it uses, licence,
citation, the counts of Table 2 of the VANER paper, the documented repairs of known defects, and (the added corpora)
the seeded dev split. Reading is `corpora.py`'s (which re-exports every name here and in `corpus_sources.py`:
import them from `dataset_scripts.corpora`).
"""

from __future__ import annotations

from .added_corpus_table import ADDED_CORPORA
from .corpus_sources import (
    BC5CDR_CITATION,
    BIOBERT_SPLIT_REPAIR,
    JNLPBA_CITATION,
    MTL_LICENCE,
    SPLITS,
    Corpus,
    Split,
    baderlab,
    biobert,
    mtl,
    vaner_jsonl,
)
from .tagged_files import Repair


def _mtl_splits(mtl_dir: str, local_dir: str, vaner_dir: str, vaner_splits: tuple[str, ...]) -> dict[str, Split]:
    """MTL token<TAB>tag files, except the splits whose VANER jsonl release is used instead."""
    mtl_files = {"train": "train", "validation": "devel", "test": "test"}
    vaner_files = {"validation": "dev", "test": "test"}
    return {
        split: Split(vaner_jsonl(vaner_dir, vaner_files[split]))
        if split in vaner_splits
        else Split(mtl(f"{local_dir}/{mtl_files[split]}.tsv", f"{mtl_dir}/{mtl_files[split]}.tsv"))
        for split in SPLITS
    }


CORPORA: dict[str, Corpus] = {
    corpus.name: corpus
    for corpus in (
        Corpus(
            name="ncbi",
            type_only="as-is",
            display_name="NCBI-disease",
            entity_type="Disease",
            paper_f1=88.03,
            splits=_mtl_splits("NCBI-disease-IOB", "NCBI-disease", "ncbi", ("validation", "test")),
            tag_types=frozenset({"Disease"}),
            licence="cc0-1.0",
            citation="Dogan RI, Leaman R, Lu Z. NCBI disease corpus: a resource for disease name recognition "
            "and concept normalization. Journal of Biomedical Informatics 47, 1-10 (2014). "
            "doi:10.1016/j.jbi.2013.12.006",
            table2_sentences=(5432, 923, 942),
            table2_entities=6861,
        ),
        Corpus(
            name="bc5cdr-disease",
            type_only="as-is",
            display_name="BC5CDR-disease",
            entity_type="Disease",
            paper_f1=87.76,
            splits=_mtl_splits("BC5CDR-disease-IOB", "BC5CDR-disease", "BC5CDR-disease", ("test",)),
            tag_types=frozenset({"Disease"}),
            licence=MTL_LICENCE,
            citation=BC5CDR_CITATION,
            table2_sentences=(4559, 4580, 4796),
            table2_entities=12931,
            notes="As BC5CDR-chem (same sentences).",
        ),
        Corpus(
            name="bc2gm",
            type_only="converted",
            display_name="BC2GM",
            entity_type="Gene",
            paper_f1=83.47,
            splits=_mtl_splits("BC2GM-IOB", "BC2GM", "BC2GM", ("validation", "test")),
            tag_types=frozenset({"GENE"}),
            licence=MTL_LICENCE,
            citation="Smith L, Tanabe LK, Ando RJ, et al. Overview of BioCreative II gene mention recognition. "
            "Genome Biology 9, S2 (2008). doi:10.1186/gb-2008-9-s2-s2",
            table2_sentences=(12632, 2531, 5065),
            table2_entities=24453,
            repairs=(Repair("vaner_dbr/BC2GM/dev_df_mix2.jsonl", 1485, "tag", "I", "B", BIOBERT_SPLIT_REPAIR),),
            notes="train is the MTL file: same tokens as BioBERT's, 58 fewer sentence breaks.",
        ),
        Corpus(
            name="jnlpba",
            type_only="converted",
            display_name="JNLPBA",
            entity_type="Gene",
            paper_f1=77.41,
            splits={
                # BioBERT's sentence-level re-split of the GENIA training data, tokenized as the test split is
                # (hyphens split: "IL - 2"), where the GENIA files keep "IL-2" one token
                "train": Split(biobert("JNLPBA/BioBERT/train.tsv", "JNLPBA/train.tsv")),
                "validation": Split(biobert("JNLPBA/BioBERT/devel.tsv", "JNLPBA/devel.tsv")),
                "test": Split(vaner_jsonl("JNLPBA", "test")),
            },
            # BioBERT/VANER count protein, DNA and RNA as the gene class; cell_line and cell_type are O.
            # BaderLab's copy renames protein -> PRGE, cell_line -> CLLN, cell_type -> CLTP.
            tag_types=frozenset({"protein", "PRGE", "DNA", "RNA"}),
            ignored_tag_types=frozenset({"cell_line", "CLLN", "cell_type", "CLTP"}),
            licence="cc-by-3.0",
            citation=JNLPBA_CITATION,
            table2_sentences=(14731, 3876, 3873),
            table2_entities=30263,
            repairs=tuple(
                Repair("vaner_dbr/JNLPBA/test_df_mix2.jsonl", line, "tag", "I", "B", BIOBERT_SPLIT_REPAIR)
                for line in (2779, 3338)
            ),
            notes="train and validation are BioBERT's files: the 18546 GENIA training sentences re-split at sentence "
            "level into 14690/3856 (Table 2: 14731/3876, BioBERT's preprocessing also cuts sentences over 126 word "
            "pieces). Entities: the test split has the 6241 B tags of the VANER test (+2 repaired sentence-initial "
            "I); Table 2's total of 30263 leaves 24022 for train+dev, which BioBERT's train+dev (40753) does not "
            "match.",
        ),
        Corpus(
            name="bc4chemd",
            type_only="as-is",
            display_name="BC4CHEMD",
            entity_type="Chemical",
            paper_f1=93.18,
            splits=_mtl_splits("BC4CHEMD", "BC4CHEMD", "BC4CHEMD", ()),
            tag_types=frozenset({"Chemical"}),
            licence="unknown",
            citation="Krallinger M, Rabal O, Leitner F, et al. The CHEMDNER corpus of chemicals and drugs and its "
            "annotation principles. Journal of Cheminformatics 7, S2 (2015). doi:10.1186/1758-2946-7-S1-S2",
            table2_sentences=(30884, 30841, 26561),
            table2_entities=65238,
            notes="Not readable from the shared corpora (annotations only, no text).",
            missing_hint="The shared corpora hold only the CHEMDNER annotations of BC4CHEMD, without the text, "
            "so it cannot be read from them. Put the MTL files BC4CHEMD/{train,devel,test}.tsv (token<TAB>tag) "
            "in the corpora directory, or read it from the public URLs (no corpora directory).",
        ),
        Corpus(
            name="bc5cdr-chem",
            type_only="as-is",
            display_name="BC5CDR-chem",
            entity_type="Chemical",
            paper_f1=94.34,
            splits=_mtl_splits("BC5CDR-chem-IOB", "BC5CDR-chem", "BC5CDR-chem", ("test",)),
            tag_types=frozenset({"Chemical"}),
            licence=MTL_LICENCE,
            citation=BC5CDR_CITATION,
            table2_sentences=(4559, 4580, 4796),
            table2_entities=15828,
            notes="MTL train/devel have one sentence more than Table 2; the VANER test release has 4812 "
            "sentences (16 more sentence breaks than Table 2, same 5385 entities as the MTL test).",
        ),
        Corpus(
            name="linnaeus",
            type_only="as-is",
            display_name="linnaeus",
            entity_type="Species",
            paper_f1=94.06,
            splits=_mtl_splits("linnaeus-IOB", "linnaeus", "linnaeus", ("test",)),
            tag_types=frozenset({"Species"}),
            licence="cc-by-4.0",
            citation="Gerner M, Nenadic G, Bergman CM. LINNAEUS: a species name identification system for "
            "biomedical literature. BMC Bioinformatics 11, 85 (2010). doi:10.1186/1471-2105-11-85",
            table2_sentences=(12004, 4086, 7181),
            table2_entities=2724,
            notes="Entities: the MTL files and the VANER test file give 4263 B tags; Table 2 gives 2724, which "
            "none of them matches.",
        ),
        Corpus(
            name="s800",
            type_only="converted",
            display_name="s800",
            entity_type="Species",
            paper_f1=77.06,
            splits={
                "train": Split(
                    baderlab("s800/BaderLab_S800_BIO/train.tsv", "S800_BIO/train.tsv"), minus=("validation", "test")
                ),
                "validation": Split(vaner_jsonl("s800", "dev")),
                "test": Split(vaner_jsonl("s800", "test")),
            },
            tag_types=frozenset({"LIVB"}),
            licence="other",
            citation="Pafilis E, Frankild SP, Fanini L, et al. The SPECIES and ORGANISMS resources for fast and "
            "accurate identification of taxonomic names in text. PLoS ONE 8, e65390 (2013). "
            "doi:10.1371/journal.pone.0065390",
            table2_sentences=(5743, 831, 1630),
            table2_entities=3734,
            notes="train = the whole-corpus BaderLab file minus the VANER dev/test sentences (by token "
            "sequence); 2 VANER dev sentences do not occur in it (see dataset_scripts/CORPORA.md).",
        ),
        *ADDED_CORPORA,
    )
}
# The VANER paper's eight corpora, in the table's order: "all" (`check_corpus_names`), the default training corpora,
# the rehearsal (with `rehearsal.ADDED_REHEARSAL`) and the DBR knowledge base. The added corpora are named one by one.
PAPER_CORPORA = tuple(name for name, corpus in CORPORA.items() if corpus.paper)
# The paper corpora's names as the instruction writes them, and the type each annotates: what a new model's
# `VanerConfig.corpus_types` holds (`backbone.build_vaner_model`).
CORPUS_TYPES = {name: CORPORA[name].entity_type for name in PAPER_CORPORA}
PAPER_F1 = {name: CORPORA[name].paper_f1 for name in PAPER_CORPORA}  # VANER, Table 1 (%)
