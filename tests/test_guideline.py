"""The type-only guideline (docs/GUIDELINES.md): the converter's rules, the corpus table's per-corpus decision, the
training rows that carry the type-only instruction, and scoring against the converted gold."""

import pytest

import dataset_scripts.guideline as guideline
from dataset_scripts.corpora import CORPORA, Corpus, read_corpus
from dataset_scripts.guideline import (
    CONVERTED_TYPES,
    convert_labels,
    guideline_records,
    trim_cell_line,
    trim_gene,
)
from dataset_scripts.guideline_evidence import check_pubtator
from modeling_vaner.dbr.mixture import apply_type_only_guideline
from modeling_vaner.processing_vaner import LABEL_B as B
from modeling_vaner.processing_vaner import LABEL_I as IN
from modeling_vaner.processing_vaner import LABEL_O as O


@pytest.mark.parametrize("entity, kept", [
    ("gene", None),  # nothing left: dropped
    ("promoter", None),
    ("p53 protein", (0, 1)),
    ("IL - 2 gene promoter", (0, 3)),  # two suffix words, peeled right to left
    ("IL - 2 - gene", (0, 3)),  # the hyphen left dangling goes too
    ("zinc finger protein gene", (0, 3)),  # "protein" heads the name: only "gene" goes
    ("myelin basic protein", (0, 3)),
    ("G protein", (0, 2)),
    ("insulin receptor gene", (0, 2)),
    ("c - myc mRNA", (0, 3)),
    ("Src family", (0, 1)),
    ("Sp1 binding sites", (0, 1)),
    ("NF - kappa B site", (0, 4)),
    ("IGF - I promoter", (0, 3)),
    ("kappa B site", None),  # a region naming no gene
    ("TATA box", None),  # a written-out DNA sequence
    ("HIV - 1 enhancer", None),  # a virus's region
    ("chloramphenicol acetyltransferase gene", (0, 2)),
    ("cyclin D1", (0, 2)),  # nothing to trim
    ("MTHFR variants", (0, 1)),  # a form of the gene
    ("Tax mutants", (0, 1)),
    ("alleles", None),
    ("splice variants", (0, 2)),  # "splice" names no gene: kept whole
    ("human GnRHR", (1, 2)),  # the organism the gene is of
    ("human androgen receptor gene", (1, 3)),
    ("human gene", (0, 2)),  # kept whole: "gene" alone names no gene
    ("murine homolog", (0, 2)),
    ("murine and human p40", (0, 4)),  # a list of organisms
    ("human immunodeficiency virus type 1 Tax", (0, 6)),  # a virus's name
    ("human IL - 4 promoter", (1, 4)),  # both ends at once
])
def test_gene_entities_are_trimmed_to_the_gene_name(entity, kept):
    assert trim_gene(entity.split()) == kept


@pytest.mark.parametrize("entity, kept", [
    ("HeLa cells", 1), ("RAW264 . 7 cells", 3), ("Jurkat T cells", 2), ("T cell line", None),
    ("human T cell line", None), ("HeLa", 1),
])
def test_cell_lines_lose_cells(entity, kept):
    assert trim_cell_line(entity.split()) == (kept if kept is None else (0, kept))


def test_labels_after_a_trim_stay_valid_iob2():
    tokens = "IL - 2 gene promoter gene MDM2 protein p53".split()
    labels = [B, IN, IN, IN, IN, B, B, IN, B]
    new, counts = convert_labels(tokens, labels, "Gene")
    # "gene" alone is dropped; MDM2 loses "protein" and p53, right after it, still starts its own entity
    assert new == [B, IN, IN, O, O, O, B, O, B]
    assert counts == {"trimmed": 2, "dropped": 1}
    assert labels == [B, IN, IN, IN, IN, B, B, IN, B]  # the input is not changed


def test_person_words_become_species_once():
    tokens = "Patients and women with HIV patients and dogs".split()
    labels = [O, O, O, O, B, IN, O, B]  # "HIV patients" already one entity: not tagged again inside it
    new, counts = convert_labels(tokens, labels, "Species")
    assert new == [B, O, B, O, B, IN, O, B] and counts == {"added": 2}
    assert convert_labels(tokens, new, "Species") == (new, {})  # converted gold converts to itself


def test_disease_and_chemical_are_not_converted():
    with pytest.raises(ValueError, match="no guideline conversion for type 'Disease'"):
        convert_labels(["cancer"], [B], "Disease")


def test_every_corpus_declares_a_convertible_decision():
    for corpus in CORPORA.values():
        assert corpus.type_only in ("as-is", "converted", "dataset-only"), corpus.name
        if corpus.type_only == "converted":
            assert corpus.entity_type in CONVERTED_TYPES, corpus.name
    with pytest.raises(ValueError, match="type_only 'maybe'"):
        Corpus(name="x", display_name="x", entity_type="Gene", splits={}, tag_types=frozenset(), licence="",
               citation="", type_only="maybe")


def test_records_follow_the_table(tiny_corpora_dir, monkeypatch):
    jnlpba = read_corpus("jnlpba", "train", tiny_corpora_dir)
    converted, counts = guideline_records(jnlpba, "jnlpba")
    assert counts == {"trimmed": 1}
    changed = [(old, new) for old, new in zip(jnlpba, converted) if old["ner_tags"] != new["ner_tags"]]
    [(old, new)] = changed
    globin = old["tokens"].index("globin")
    assert old["ner_tags"][globin + 1] == IN and new["ner_tags"][globin + 1] == O  # "beta - globin gene"
    ncbi = read_corpus("ncbi", "train", tiny_corpora_dir)
    assert guideline_records(ncbi, "ncbi") == (ncbi, {})  # as-is
    monkeypatch.setattr(guideline, "type_only_policy", lambda corpus: "dataset-only")
    with pytest.raises(ValueError, match="ncbi is dataset-only"):
        guideline_records(ncbi, "ncbi")


def mixture_row(tokens, tags, instruction, source="corpus", corpus="bc2gm"):
    return {"id": "x", "tokens": tokens.split(), "ner_tags": tags, "entity_type": CORPORA[corpus].entity_type,
            "corpus": corpus, "instruction_dataset": instruction, "source": source}


def test_only_type_only_rows_are_converted(monkeypatch):
    rows = [
        mixture_row("p53 gene", [B, IN], "bc2gm"),  # the dataset instruction keeps the corpus gold
        mixture_row("p53 gene", [B, IN], None),
        mixture_row("VEGF gene ; promoter", [B, IN, O, B], None, source="dbr"),
    ]
    converted, counts = apply_type_only_guideline(rows, "bc2gm")
    assert [row["ner_tags"] for row in converted] == [[B, IN], [B, O], [B, O, O, O]]
    assert converted[0] is rows[0] and counts == {"rows": 2, "trimmed": 2, "dropped": 1}
    monkeypatch.setattr(guideline, "type_only_policy", lambda corpus: "dataset-only")
    kept, counts = apply_type_only_guideline(rows[::2], "bc2gm")  # a dataset row and a dense sentence
    assert [row["instruction_dataset"] for row in kept] == ["bc2gm", "bc2gm"] and counts == {"dataset_instruction": 1}
    assert [row["ner_tags"] for row in kept] == [[B, IN], [B, IN, O, B]]


def test_training_rows_with_the_type_only_instruction_use_converted_labels(tiny_corpora_dir, monkeypatch, capsys):
    from modeling_vaner.training import DataArguments, training_records

    gold = {record["id"]: record["ner_tags"] for record in read_corpus("jnlpba", "train", tiny_corpora_dir)}
    converted = {r["id"]: r["ner_tags"] for r in guideline_records(read_corpus("jnlpba", "train", tiny_corpora_dir),
                                                                       "jnlpba")[0]}

    def records(share, seed=0, type_only_gold="guideline"):
        data = DataArguments(corpora=["jnlpba", "ncbi"], corpora_dir=str(tiny_corpora_dir), dbr_variant="none",
                             type_only_share=share, type_only_gold=type_only_gold)
        return training_records(data, seed=seed)

    for share in (0.0, 0.5, 1.0):
        mixture = records(share)
        for record in mixture:
            if record["corpus"] == "jnlpba":
                expected = gold if record["instruction_dataset"] else converted
                assert record["ner_tags"] == expected[record["id"]]
        for corpus in ("jnlpba", "ncbi"):
            rows = [record for record in mixture if record["corpus"] == corpus]
            assert sum(record["instruction_dataset"] is None for record in rows) == round(share * len(rows))
        assert mixture == records(share)  # seeded: the same rows, the same labels
    assert "jnlpba 4 rows, entities trimmed 1, dropped 0, added 0" in capsys.readouterr().err
    # vaner-smol 2's recipe: the type-only rows keep their corpus's gold, and the same rows are drawn
    as_before = records(0.5, type_only_gold="corpus")
    assert [record["ner_tags"] for record in as_before] == [gold[r["id"]] if r["corpus"] == "jnlpba" else r["ner_tags"]
                                                            for r in as_before]
    assert "type-only rows under the guideline" not in capsys.readouterr().err
    assert [r["instruction_dataset"] for r in as_before] == [r["instruction_dataset"] for r in records(0.5)]
    with pytest.raises(ValueError, match="type_only_gold must be one of corpus, guideline, got 'pubtator'"):
        records(0.5, type_only_gold="pubtator")
    monkeypatch.setattr(guideline, "type_only_policy", lambda corpus: "dataset-only")
    assert all(record["instruction_dataset"] for record in records(1.0))  # no type-only row at all
    assert sum(r["instruction_dataset"] is None for r in records(1.0, type_only_gold="corpus")) > 0


def test_scoring_against_the_guideline_gold(tiny_backbone, tiny_corpora_dir, monkeypatch, capsys):
    import torch

    from modeling_vaner.backbone import build_vaner_model
    from modeling_vaner.evaluation import evaluate_corpora, evaluate_model, format_table, guideline_corpora
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    torch.manual_seed(0)
    model, tokenizer = build_vaner_model(str(tiny_backbone))
    tagger = VanerTokenClassificationPipeline(model=model.eval(), tokenizer=tokenizer, task="token-classification",
                                              precision="fp32")
    report = evaluate_corpora(tagger, ["jnlpba"], "train", tiny_corpora_dir, dataset_in_instruction=False,
                              gold="guideline")
    scores = report["corpora"]["jnlpba"]
    assert report["gold"] == "guideline" and report["instruction"] == "type-only"
    assert scores["guideline"] == {"trimmed": 1, "dropped": 0, "added": 0} and scores["gold_entities"] == 7
    assert "gold: the type-only guideline" in format_table(report)
    for wrong in ({"file": "gold.tsv"}, {"corpora": ["jnlpba"], "instruction": "dataset"}):
        with pytest.raises(ValueError, match="gold 'guideline' scores the type-only instruction"):
            evaluate_model(gold="guideline", **wrong)  # checked before any model loads
    monkeypatch.setattr(guideline, "type_only_policy", lambda corpus: "dataset-only" if corpus == "s800" else "as-is")
    with pytest.raises(ValueError, match="s800: dataset-only"):
        guideline_corpora(["ncbi", "s800"], every=False)
    assert guideline_corpora(["ncbi", "s800"], every=True) == ["ncbi"]
    assert "skipping s800: dataset-only" in capsys.readouterr().err


def test_the_cli_flag():
    from modeling_vaner.cli import build_parser

    args = build_parser().parse_args(["evaluate", "--corpus", "jnlpba", "--gold", "guideline"])
    assert args.gold == "guideline" and args.instruction is None


def test_stats_and_pubtator_check(tiny_corpora_dir, tmp_path, capsys):
    assert guideline.main(["--corpora-dir", str(tiny_corpora_dir), "--corpora", "jnlpba", "s800"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["jnlpba", "Gene", "converted", "4", "7", "1", "0", "0", "7"]
    pubtator = tmp_path / "tiny.PubTator"
    pubtator.write_text(
        "1|t|The MTHFR gene and myelin basic protein in HeLa cells of patients.\n1|a|Human cells.\n"
        "1\t4\t9\tMTHFR\tGene\t4524\n1\t19\t39\tmyelin basic protein\tGene\t4155\n"
        "1\t43\t47\tHeLa\tCellLine\tCVCL_0030\n1\t67\t72\tHuman\tSpecies\t9606\n\n"
        "2|t|The human GnRHR.\n2|a|\n2\t10\t15\tGnRHR\tGene\t2798\n\n"
    )
    assert check_pubtator(pubtator) == {
        "Gene": {"mentions": 3, "followed_by_suffix": 1, "rule_trims_back": 1, "ending_in_suffix": 1,
                 "rule_keeps": 1, "after_organism": 1, "rule_trims_organism": 1,
                 "organism_words_before": {"human": 1}},
        "CellLine": {"mentions": 1, "followed_by_suffix": 1, "rule_trims_back": 1},
        "Species": {"mentions": 1, "person_words_untagged": 1, "homo_sapiens_mentions": {"human": 1}},
    }


@pytest.mark.integration
def test_the_numbers_of_docs_guidelines(corpora_dir):
    """The counts docs/GUIDELINES.md gives (`python -m dataset_scripts.guideline --split train`), and a
    conversion of the whole train splits that takes seconds."""
    import time

    from dataset_scripts.guideline import corpus_guideline_stats

    start, rows = time.perf_counter(), {}
    for name in ("bc2gm", "jnlpba", "s800", "linnaeus"):
        rows[name] = corpus_guideline_stats(read_corpus(name, "train", corpora_dir), name)
    assert {name: (row["trimmed"], row["dropped"], row["added"]) for name, row in rows.items()} == {
        "bc2gm": (2156, 180, 0), "jnlpba": (3925, 1726, 0), "s800": (0, 0, 174), "linnaeus": (0, 0, 0),
    }
    assert time.perf_counter() - start < 60
