"""Fine-tuning on a user's own files: column, JSONL and PubTator sources with new types, mixed with built-in
corpora, the new type recorded in the saved model, the checkpoint chosen on the user's dev file, bad files named.
Tiny random model in fp32 (stated: the loss comparison is at fp32)."""

import json
from pathlib import Path

import pytest
import yaml
from test_training import tiny_config

from modeling_vaner.adapter import default_model_dir
from modeling_vaner.cli import main
from modeling_vaner.run_log import read_log
from modeling_vaner.text_vaner import split_words
from modeling_vaner.training import DataArguments, file_source_records, training_records

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial"
# (title, abstract) pairs and their cell-line mentions, written once as PubTator and once as columns
DOCUMENTS = [
    ("HeLa cells grew.", "MCF-7 and Jurkat cells died.", ["HeLa", "MCF-7", "Jurkat"]),
    ("Mice were treated.", "HEK293 cells expressed BRCA1.", ["HEK293"]),
]


def pubtator_text() -> str:
    blocks = []
    for number, (title, abstract, mentions) in enumerate(DOCUMENTS, 1):
        text = f"{title} {abstract}"
        lines = [f"{number}|t|{title}", f"{number}|a|{abstract}"]
        lines += [f"{number}\t{text.index(m)}\t{text.index(m) + len(m)}\t{m}\tCellLine\t" for m in mentions]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def column_text() -> str:
    sentences = []
    for title, abstract, mentions in DOCUMENTS:
        for sentence in (title, abstract):
            starts = {sentence.index(m): sentence.index(m) + len(m) for m in mentions if m in sentence}
            lines, inside = [], 0
            for start, end in split_words(sentence):
                tag = "B-CellLine" if start in starts else "I-CellLine" if start < inside else "O"
                inside = starts.get(start, inside)
                lines.append(f"{sentence[start:end]}\t{tag}")
            sentences.append("\n".join(lines))
    return "\n\n".join(sentences) + "\n"


def source(path, **fields) -> dict:
    return {"path": str(path), "types": None, "dataset": None, "format": None, "type_map": None, **fields}


def test_pubtator_and_column_files_give_the_same_rows(tmp_path):
    pubtator, columns = tmp_path / "cells.pubtator", tmp_path / "cells.tsv"
    pubtator.write_text(pubtator_text())
    columns.write_text(column_text())
    from_pubtator, from_columns = file_source_records(source(pubtator)), file_source_records(source(columns))
    assert len(from_columns) == 4 and sum(1 in r["ner_tags"] for r in from_columns) == 3
    assert [(r["tokens"], r["ner_tags"], r["entity_type"]) for r in from_pubtator] == [
        (r["tokens"], r["ner_tags"], r["entity_type"]) for r in from_columns
    ]
    jsonl = tmp_path / "cells.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps({"tokens": r["tokens"], "tags": [["O", "B-CellLine", "I-CellLine"][t] for t in r["ner_tags"]]})
            + "\n"
            for r in from_columns
        )
    )
    assert [r["ner_tags"] for r in file_source_records(source(jsonl))] == [r["ner_tags"] for r in from_columns]


def test_a_mixed_config_builds_the_expected_rows(tmp_path, tiny_corpora_dir):
    two_types = tmp_path / "two.tsv"
    two_types.write_text("HeLa\tB-CellLine\nlacks\tO\nTP53\tB-Gene\n\nMice\tO\n\nJurkat\tB-CellLine\n")
    data = DataArguments(
        corpora=["ncbi"], corpora_dir=str(tiny_corpora_dir), dbr_variant="none", train_limit_per_corpus=5,
        train_files=[{"path": str(two_types), "dataset": "lab"}], type_only_share=0.5,
    )
    mixture = training_records(data, seed=0)
    assert len(mixture) == 5 + 3 * 2  # five NCBI-disease sentences + each of 3 sentences once per type
    mine = [record for record in mixture if record["corpus"] == "lab"]
    assert sorted({record["entity_type"] for record in mine}) == ["CellLine", "Gene"]
    assert sorted(str(record["instruction_dataset"]) for record in mine) == ["None"] * 3 + ["lab"] * 3
    only_cells = DataArguments(corpora=[], train_files=[{"path": str(two_types), "types": "CellLine"}])
    assert len(training_records(only_cells, seed=0)) == 3
    with pytest.raises(ValueError, match="unknown key"):
        DataArguments(corpora=[], train_files=[{"path": str(two_types), "typ": "CellLine"}])
    with pytest.raises(ValueError, match="nothing to train on"):
        DataArguments(corpora=[])
    with pytest.raises(FileNotFoundError, match="no such file"):
        DataArguments(corpora=[], train_files=[str(tmp_path / "missing.tsv")])


def test_fine_tuning_learns_a_new_type_and_the_model_offers_it(tmp_path, tiny_backbone, capsys):
    config = tiny_config(
        tmp_path, tiny_backbone, corpora=[], eval_corpora=[], max_steps=16, eval_steps=8, save_steps=8,
        per_device_train_batch_size=8, learning_rate=3e-3,
    )
    out = tmp_path / "cells"
    arguments = ["train", "--config", str(config), "--train-file", str(TUTORIAL / "celltypes_train.tsv")]
    arguments += ["--dev-file", str(TUTORIAL / "celltypes_dev.tsv"), "--type", "CellType", "--dataset", "lab"]
    assert main([*arguments, "--output-dir", str(out)]) == 0
    log = read_log(out)
    losses = [entry["loss"] for entry in log if "loss" in entry]
    assert sum(losses[-3:]) / 3 < 0.75 * sum(losses[:3]) / 3, losses
    first_eval = next(entry for entry in log if "eval_mean_f1" in entry)
    assert sorted(k for k in first_eval if k.endswith("_f1")) == ["eval_lab_f1", "eval_mean_f1", "eval_overall_f1"]
    saved = json.loads((out / "adapter" / "config.json").read_text())
    assert saved["entity_types"][-1] == "CellType" and saved["corpus_types"]["lab"] == "CellType"
    from modeling_vaner.loading import load_pipeline

    tagger = load_pipeline(str(out), precision="fp32")  # a run folder: its adapter
    assert list(tagger.call_options().entity_types) == saved["entity_types"]
    assert tagger.call_options(dataset="lab").dataset == "lab"
    rows = tagger.preprocess("Macrophages.")["rows"]
    assert {row.type_index for row in rows} == set(range(len(saved["entity_types"])))
    report = tmp_path / "report.json"
    test_file = str(TUTORIAL / "celltypes_test.tsv")
    arguments = ["evaluate", "--model", str(out), "--file", test_file, "--type", "CellType", "--output", str(report)]
    assert main(arguments) == 0
    assert json.loads(report.read_text())["corpora"]["celltypes_test CellType"]["sentences"] == 10


def test_a_bad_file_fails_with_its_line(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("HeLa\tB-CellLine\ncells\tX-CellLine\n")
    assert main(["train", "--train-file", str(bad), "--type", "CellLine", "--output-dir", str(tmp_path / "o")]) == 2
    assert f"{bad}:2: invalid tag 'X-CellLine'" in capsys.readouterr().err
    assert main(["train", "--type", "CellLine"]) == 2
    assert "give --config" in capsys.readouterr().err
    config = yaml.safe_load((TUTORIAL.parents[1] / "configs" / "finetune.yaml").read_text())
    assert config["init_adapter"] == "embedded" and config["eval_corpora"] == []
    embedded = json.loads((default_model_dir() / "adapter_config.json").read_text())
    assert (config["lora_r"], config["lora_alpha"]) == (embedded["r"], embedded["lora_alpha"])  # no rank cut


@pytest.mark.parametrize(
    "flag, content, type_named",
    [
        ("--train-file", "", "CellType"),  # empty
        ("--train-file", "\n\n-DOCSTART-\tO\n\n", "CellType"),  # no sentence
        ("--train-file", "HeLa\tO\ncells\tO\n\nMice\tO\n", "CellType"),  # every tag O
        ("--dev-file", "", "CellType"),
        ("--dev-file", "HeLa\tO\n", "CellType"),
        ("--train-file", "", None),  # no --type: every type of the file, and there is none
    ],
)
def test_a_file_without_an_entity_of_its_type_is_an_error(tmp_path, capsys, flag, content, type_named):
    """Once, such a file trained on the rehearsal sentences alone and saved an adapter claiming best_metric 1.0."""
    empty = tmp_path / "nothing.tsv"
    empty.write_text(content)
    good = str(TUTORIAL / "celltypes_train.tsv")
    files = [flag, str(empty)] if flag == "--train-file" else ["--train-file", good, flag, str(empty)]
    types = ["--type", type_named] if type_named else []
    assert main(["train", *files, *types, "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    kind = f"{type_named} entity" if type_named else "entity"
    role = flag.strip("-").partition("-")[0]
    assert err.startswith(f"vaner train: error: {role} file {empty}: no {kind} to "), err
    assert not (tmp_path / "out").exists()


def test_an_unreadable_file_or_a_folder_is_named(tmp_path, capsys):
    binary = tmp_path / "cells.tsv"
    binary.write_bytes("HeLa\tB-CellLine\n\nJurkat\tB-CellLine\n".encode() + b"\x89PNG\tO\n")
    assert main(["train", "--train-file", str(binary), "--type", "CellLine", "--output-dir", str(tmp_path)]) == 2
    assert f"error: {binary}:4: not UTF-8 text (byte 35: invalid start byte)" in capsys.readouterr().err
    assert main(["train", "--train-file", str(tmp_path), "--type", "CellLine", "--output-dir", str(tmp_path)]) == 2
    assert f"error: train_files: {tmp_path} is a directory" in capsys.readouterr().err


def test_no_rehearsal_trains_on_the_user_s_files_alone(tmp_path):
    from modeling_vaner.cli import build_parser
    from modeling_vaner.cli.train import file_overrides

    train = str(TUTORIAL / "celltypes_train.tsv")
    args = build_parser().parse_args(["train", "--train-file", train, "--type", "CellType", "--no-rehearsal"])
    overrides = file_overrides(args)
    assert overrides["corpora"] == [] and overrides["eval_corpora"] == []
    data = DataArguments(**{k: v for k, v in overrides.items() if k in DataArguments.__dataclass_fields__})
    mixture = training_records(data, seed=0)
    assert len(mixture) == 30 and {record["corpus"] for record in mixture} == {"celltypes_train"}
    with pytest.raises(ValueError, match="give at least one --train-file"):
        file_overrides(build_parser().parse_args(["train", "--no-rehearsal"]))


def test_fine_tuning_needs_no_corpora_mirror(tmp_path, tiny_backbone, monkeypatch, capsys):
    """configs/finetune.yaml's data on the tiny backbone, with no corpora directory anywhere and offline: the
    rehearsal sentences of the corpora whose licence allows it come with the package, the others are left out with
    one line saying so."""
    import dataset_scripts.corpora
    from modeling_vaner.training.rehearsal import SHIPPED_SENTENCES, shipped_corpora

    monkeypatch.delenv("VANER_CORPORA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(dataset_scripts.corpora, "SHARED_CORPORA_DIR", tmp_path / "no-corpora")
    finetune = TUTORIAL.parents[1] / "configs" / "finetune.yaml"
    assert yaml.safe_load(finetune.read_text())["train_limit_per_corpus"] == SHIPPED_SENTENCES
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "base": str(finetune), "backbone": str(tiny_backbone), "init_adapter": None, "lora_r": 4, "lora_alpha": 8,
        "max_length": 64, "max_steps": 2, "eval_strategy": "steps", "eval_steps": 2, "save_strategy": "steps",
        "save_steps": 2, "per_device_train_batch_size": 8, "use_cpu": True, "disable_tqdm": True, "logging_steps": 1,
    }))
    out = tmp_path / "cells"
    arguments = ["train", "--config", str(config), "--train-file", str(TUTORIAL / "celltypes_train.tsv")]
    arguments += ["--dev-file", str(TUTORIAL / "celltypes_dev.tsv"), "--type", "CellType", "--output-dir", str(out)]
    assert main(arguments) == 0
    err = capsys.readouterr().err
    rehearsed = yaml.safe_load(finetune.read_text())["corpora"]
    assert "jnlpba-cellline" in rehearsed  # CellLine, which vaner-smol 3 tags and no paper corpus has
    left_out = [name for name in rehearsed if name not in shipped_corpora()]
    assert left_out == ["s800"]
    notices = [line for line in err.splitlines() if "rehearsal without" in line]
    assert notices == ["vaner train: rehearsal without s800 (licence 'other': not shipped with the package; offline): "
                       "set corpora_dir or $VANER_CORPORA_DIR to a corpora directory to include it"]
    assert f"vaner train: {SHIPPED_SENTENCES * (len(rehearsed) - 1) + 30} sentences" in err
    assert (out / "adapter" / "adapter_model.safetensors").is_file()


def test_rehearsal_leaves_out_only_an_unshipped_corpus_it_cannot_download(monkeypatch, capsys):
    import dataset_scripts.corpora
    from dataset_scripts.corpora import CorpusUnavailableError

    def no_network(url):
        raise ConnectionError(f"cannot reach {url}")

    monkeypatch.delenv("VANER_CORPORA_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(dataset_scripts.corpora, "_download", no_network)
    mine = [{"path": str(TUTORIAL / "celltypes_train.tsv"), "types": "CellType"}]
    data = DataArguments(corpora=["ncbi", "s800"], dbr_variant="none", train_limit_per_corpus=30, train_files=mine)
    mixture = training_records(data, seed=0)
    assert [record["corpus"] for record in mixture] == ["celltypes_train"] * 30 + ["ncbi"] * 30
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "vaner train: rehearsal, so that the types the model knows are not forgotten: 30 sentences (ncbi 30)",
        "vaner train: rehearsal without s800 (licence 'other': not shipped with the package; its download failed: "
        "ConnectionError): set corpora_dir or $VANER_CORPORA_DIR to a corpora directory to include it"
    ]
    with pytest.raises(CorpusUnavailableError, match="s800 train: cannot download"):  # no fine-tune: no rehearsal
        training_records(DataArguments(corpora=["s800"], dbr_variant="none", train_limit_per_corpus=30), seed=0)
    more = DataArguments(corpora=["ncbi"], dbr_variant="none", train_limit_per_corpus=31, train_files=mine)
    with pytest.raises(CorpusUnavailableError, match="ncbi train: cannot download"):  # more than the package holds
        training_records(more, seed=0)


def test_shipped_rehearsal_is_what_the_corpora_give(corpora_dir, tmp_path, monkeypatch, capsys):
    """The package's rehearsal file is the corpus readers' output: each corpus's shipped records are its first
    training records as read from the corpora (the whole file rebuilt byte for byte where the directory holds the
    added corpora too; ../shared/corpora does not), and a fine-tune's mixture is the same with the corpora directory
    and without it (the package's copy standing in for a corpus the directory lacks)."""
    from dataset_scripts.corpora import CorpusUnavailableError, read_corpus
    from modeling_vaner.training.rehearsal import (
        CREDITS_FILE,
        REHEARSAL_FILE,
        SHIPPED_SENTENCES,
        credits_text,
        read_shipped,
        shipped_corpora,
    )

    shipped = shipped_corpora()
    assert shipped == ["ncbi", "bc5cdr-disease", "bc2gm", "jnlpba", "bc5cdr-chem", "linnaeus", "jnlpba-cellline"]
    held = {}
    for name in shipped:
        try:
            held[name] = read_corpus(name, "train", corpora_dir)[:SHIPPED_SENTENCES]
        except CorpusUnavailableError:  # an added corpus outside the directory
            continue
    assert list(held)[:6] == shipped[:6]  # the paper's corpora are always there
    assert {name: list(read_shipped()[name]) for name in held} == held
    credits = (REHEARSAL_FILE.parent / CREDITS_FILE).read_text()
    assert credits == credits_text(dict.fromkeys(shipped, SHIPPED_SENTENCES), REHEARSAL_FILE.name)
    rebuilt = tmp_path / "rehearsal.jsonl"
    status = main(["data", "rehearsal", "--corpora-dir", str(corpora_dir), "--out", str(rebuilt)])
    if len(held) == len(shipped):
        assert status == 0 and rebuilt.read_bytes() == REHEARSAL_FILE.read_bytes()
        assert (tmp_path / CREDITS_FILE).read_text() == credits
    else:  # the corpus the directory lacks is named, with where its files come from
        assert status == 2 and not rebuilt.exists()
        assert "jnlpba-cellline, an added corpus, cannot be read" in capsys.readouterr().err
    monkeypatch.delenv("VANER_CORPORA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    mine = [{"path": str(TUTORIAL / "celltypes_train.tsv"), "types": "CellType"}]
    mixtures = [
        training_records(
            DataArguments(corpora=shipped, corpora_dir=where, dbr_variant="none", train_files=mine,
                          train_limit_per_corpus=30, train_limits={"ncbi": 7}, type_only_share=0.5), seed=3
        )
        for where in (str(corpora_dir), None)
    ]
    assert len(mixtures[0]) == 30 + (len(shipped) - 1) * 30 + 7 and mixtures[0] == mixtures[1]


def test_fine_tuning_starts_from_a_vaner_model_folder(tiny_model_dir, tmp_path):
    """A trained VANER folder (a staged model, a converted release) as the backbone: its head and types kept."""
    import torch

    from modeling_vaner.backbone import build_vaner_model
    from modeling_vaner.training import ModelArguments, build_model

    folder_model, _ = build_vaner_model(str(tiny_model_dir))
    assert torch.equal(folder_model.score.bias, torch.tensor([0.0, 0.5, 0.0]))  # the folder's head, not a new one
    model, _ = build_model(ModelArguments(backbone=str(tiny_model_dir), lora_r=4, lora_alpha=8), 64)
    config = model.get_base_model().config
    assert config.model_type == "vaner" and config.max_window_tokens == 64 and "ncbi" in config.corpus_types


class FakeTagger:
    """Tags every word equal to a given one as a one-word entity, per type (what `tag_words` returns)."""

    def __init__(self, words_by_type: dict[str, str]):
        self.words_by_type, self.calls = words_by_type, []

    def tag_words(self, sentences, entity_type, dataset=None, batch_size=None):
        self.calls.append((entity_type, len(sentences), dataset))
        return [[1 if word == self.words_by_type.get(entity_type) else 0 for word in words] for words in sentences]


def test_pseudo_label_records_keep_the_user_s_entities_and_types():
    """Each distinct sentence once per type, type-only, the model's labels but where they overlap the user's own
    entities (any of the user's types), and no row of a type the user annotates."""
    from modeling_vaner.training.rehearsal import PSEUDO_LABEL_SOURCE, pseudo_label_records

    tokens = ["Macrophages", "and", "HeLa", "cells", "with", "cisplatin"]
    mine = [
        {"id": "f-1", "corpus": "cells", "tokens": tokens, "entity_type": "CellType", "ner_tags": [1, 0, 0, 0, 0, 0],
         "instruction_dataset": "lab"},
        {"id": "f-1", "corpus": "cells", "tokens": tokens, "entity_type": "Organ", "ner_tags": [0, 0, 0, 0, 0, 0],
         "instruction_dataset": "lab"},
        {"id": "f-2", "corpus": "cells", "tokens": ["HeLa"], "entity_type": "CellType", "ner_tags": [0],
         "instruction_dataset": "lab"},
    ]
    tagger = FakeTagger({"CellLine": "HeLa", "Chemical": "cisplatin", "Gene": "Macrophages"})
    pseudo = pseudo_label_records(tagger, mine, ["CellLine", "Chemical", "Gene"], batch_size=4)
    assert tagger.calls == [("CellLine", 2, None), ("Chemical", 2, None), ("Gene", 2, None)]
    assert [(r["id"], r["entity_type"], r["ner_tags"]) for r in pseudo] == [
        ("f-1", "CellLine", [0, 0, 1, 0, 0, 0]), ("f-2", "CellLine", [1]),
        ("f-1", "Chemical", [0, 0, 0, 0, 0, 1]), ("f-2", "Chemical", [0]),
        ("f-1", "Gene", [0, 0, 0, 0, 0, 0]), ("f-2", "Gene", [0]),  # "Macrophages" is the user's CellType: O
    ]
    assert {(r["instruction_dataset"], r["source"], r["corpus"]) for r in pseudo} == {(None, PSEUDO_LABEL_SOURCE,
                                                                                       "cells")}
    assert pseudo_label_records(tagger, mine, ["CellType"]) == []  # the user's own type: their labels only
    genes = [{**mine[2], "id": "g-1", "corpus": "genes", "tokens": ["BRCA1"], "entity_type": "Gene", "ner_tags": [1]}]
    rows = pseudo_label_records(tagger, mine + genes, ["Gene"])  # another file annotates Gene in its own sentence
    assert [(r["id"], r["entity_type"]) for r in rows] == [("f-1", "Gene"), ("f-2", "Gene")]
    assert mine[0]["entity_type"] == "CellType" and mine[0]["instruction_dataset"] == "lab"  # not modified


@pytest.mark.parametrize("start", ["init_adapter", "vaner_folder"])
def test_fine_tune_pseudo_labels_the_user_s_sentences_under_the_types_the_model_tags(
    start, tmp_path, tiny_backbone, random_adapter, tiny_model_dir, capsys
):
    """`pseudo_label_rehearsal: true` (configs/finetune.yaml): the run adds one type-only row per sentence of the
    user's file and type the starting model tags (its init_adapter's, or a VANER folder's as the backbone), says so,
    and the training manifest names them; `--no-rehearsal` turns it off."""
    from modeling_vaner.cli import build_parser
    from modeling_vaner.cli.train import file_overrides
    from modeling_vaner.training import parse_config, run_training
    from modeling_vaner.training.manifest import MANIFEST_FILE

    finetune = TUTORIAL.parents[1] / "configs" / "finetune.yaml"
    assert yaml.safe_load(finetune.read_text())["pseudo_label_rehearsal"] is True
    args = build_parser().parse_args(["train", "--train-file", "x.tsv", "--no-rehearsal"])
    assert file_overrides(args)["pseudo_label_rehearsal"] is False
    _, stage1 = random_adapter
    starts = {"init_adapter": (tiny_backbone, stage1), "vaner_folder": (tiny_model_dir, None)}
    backbone, init_adapter = starts[start]
    types = json.loads(((init_adapter or backbone) / "config.json").read_text())["entity_types"]
    mine = [{"path": str(TUTORIAL / "celltypes_train.tsv"), "types": ["CellType"]}]
    config = tiny_config(tmp_path, backbone, init_adapter=init_adapter and str(init_adapter), corpora=[],
                         train_files=mine, pseudo_label_rehearsal=True, max_steps=2, eval_strategy="no",
                         load_best_model_at_end=False)
    run_training(*parse_config(config))
    err = capsys.readouterr().err
    assert f"vaner train: pseudo-label rehearsal: {30 * len(types)} rows (30 sentences of your files under " \
           f"{', '.join(types)}), " in err
    assert f"vaner train: {30 + 30 * len(types)} sentences" in err
    manifest = [json.loads(line) for line in (tmp_path / "run" / MANIFEST_FILE).read_text().splitlines()]
    assert [row["source"] for row in manifest].count("pseudo-label") == 30 * len(types)
    assert json.loads((tmp_path / "run" / "adapter" / "config.json").read_text())["entity_types"] == [*types,
                                                                                                     "CellType"]
