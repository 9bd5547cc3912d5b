"""`vaner train`: config parsing, a tiny model that learns, resume, the adapter round-trip, presets, torchrun.

Precision: fp32 unless a test sets bf16 (TrainingArguments' default is off), so losses and logits compare at fp32
tolerances on every CPU."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from transformers import TrainerCallback

from dataset_scripts.corpora import CORPORA
from modeling_vaner.adapter import (
    ADAPTER_WEIGHTS,
    EVALUATION_FILE,
    PLOT_FILE,
    RUN_ADAPTER_DIR,
    TRAIN_CONFIG_FILE,
    adapter_recipe,
    average_adapters,
    install_adapter,
)
from modeling_vaner.run_log import read_log
from modeling_vaner.training import (
    DataArguments,
    ModelArguments,
    build_model,
    dev_records,
    parse_config,
    run_training,
    training_records,
)

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    (["Patients", "with", "breast", "cancer", "were", "treated", "."], [0, 0, 1, 2, 0, 0, 0]),
    (["Diabetes", "is", "common", "."], [1, 0, 0, 0]),
    (["No", "disease", "was", "found", "in", "the", "mice", "."], [0, 0, 0, 0, 0, 0, 0, 0]),
    (["Asthma", "and", "colon", "cancer", "co-occur", "."], [1, 0, 1, 2, 0, 0]),
]


def records(count: int) -> list[dict]:
    return [
        {"id": f"s{i}", "tokens": SENTENCES[i % 4][0], "ner_tags": SENTENCES[i % 4][1], "entity_type": "Disease",
         "corpus": "ncbi", "instruction_dataset": "ncbi"}
        for i in range(count)
    ]


def tiny_config(tmp_path: Path, backbone: Path, **overrides) -> Path:
    values = {
        "backbone": str(backbone), "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "corpora": ["ncbi"],
        "dbr_variant": "none", "max_length": 64, "final_eval_split": "none", "output_dir": str(tmp_path / "run"),
        "per_device_train_batch_size": 4, "learning_rate": 1e-2, "lr_scheduler_type": "constant", "max_steps": 12,
        "logging_steps": 1, "eval_strategy": "steps", "eval_steps": 6, "save_steps": 6,
        "load_best_model_at_end": True, "metric_for_best_model": "mean_f1", "save_total_limit": 2,
        "train_sampling_strategy": "group_by_length", "report_to": "none", "use_cpu": True, "seed": 0,
        "disable_tqdm": True,
    }
    values.update(overrides)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


class Capture(TrainerCallback):
    """A callback that keeps the model as training ends (after the best checkpoint is loaded back)."""

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.model = model


class StopAt(TrainerCallback):
    """A callback that interrupts training (as a crash would) after `step`."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


class SignalDuring(TrainerCallback):
    """A callback that sends this process `number` (as Ctrl-C or `kill` would) while step `step` runs."""

    def __init__(self, step, number):
        self.step, self.number = step, number

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step - 1:
            os.kill(os.getpid(), self.number)


def test_tiny_model_learns_and_adapter_round_trips(tmp_path, tiny_backbone):
    from modeling_vaner.loading import load_vaner

    capture = Capture()
    model_args, data_args, training_args = parse_config(tiny_config(tmp_path, tiny_backbone))
    summary = run_training(
        model_args, data_args, training_args, train_records=records(32), dev={"ncbi": records(4)},
        callbacks=[capture],
    )
    assert summary["global_step"] == 12 and summary["best_checkpoint"] is not None
    log = read_log(tmp_path / "run")
    losses = [entry["loss"] for entry in log if "loss" in entry]
    assert sum(losses[-3:]) / 3 < 0.75 * sum(losses[:3]) / 3, losses
    assert all(0 <= entry["padding_share"] < 0.5 for entry in log if "loss" in entry)
    assert [entry["step"] for entry in log if "eval_mean_f1" in entry] == [6, 12]
    adapter = tmp_path / "run" / RUN_ADAPTER_DIR
    # the run record travels inside the adapter folder, and inside every checkpoint
    assert (adapter / PLOT_FILE).stat().st_size > 1000
    assert adapter_recipe(adapter)["training"]["max_steps"] == 12
    assert adapter_recipe(Path(summary["best_checkpoint"])) == adapter_recipe(adapter)
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_backbone)
    loaded, tokenizer, trained = load_vaner(str(adapter))
    assert trained and loaded.config.max_window_tokens == 64 and loaded.config.is_causal is False
    batch = tokenizer(["If any Disease entity is mentioned , extract it . breast cancer"], return_tensors="pt")
    trained_model = capture.model.eval()
    with torch.no_grad():
        expected = trained_model(**batch).logits
        actual = loaded.eval()(**batch).logits
    assert torch.allclose(expected, actual, atol=1e-5), (expected - actual).abs().max()
    unmerged = load_vaner(str(adapter), merge=False)[0].eval()  # LoRA factors kept beside the weights
    with torch.no_grad():
        assert torch.allclose(unmerged(**batch).logits, actual, atol=1e-5)

    (tmp_path / "shipped").mkdir()
    (tmp_path / "shipped" / EVALUATION_FILE).write_text("{}")  # the previous model's, stale after the install
    shipped = install_adapter(adapter, tmp_path / "shipped", dtype="bfloat16")
    assert (
        (shipped / "adapter_model.safetensors").stat().st_size < (adapter / "adapter_model.safetensors").stat().st_size
    )
    assert load_vaner(str(shipped))[2]
    assert (shipped / TRAIN_CONFIG_FILE).is_file() and (shipped / PLOT_FILE).is_file()
    assert not (shipped / EVALUATION_FILE).exists()


def test_trainer_and_callback_are_module_level_classes(tiny_vaner, tmp_path):
    """`VanerTrainer` and `AdapterCheckpointCallback` can be imported and subclassed; a trainer built on a plain
    model evaluates to per-corpus dev F1 (tagged in fp32 by the pipeline, within the run's own autocast)."""
    from transformers import Trainer, TrainingArguments

    from modeling_vaner.training import AdapterCheckpointCallback, VanerTrainer
    from modeling_vaner.training.trainer import AdapterCheckpointCallback as defined_callback
    from modeling_vaner.training.trainer import VanerTrainer as defined_trainer

    assert VanerTrainer is defined_trainer and issubclass(VanerTrainer, Trainer)
    assert AdapterCheckpointCallback is defined_callback and issubclass(AdapterCheckpointCallback, TrainerCallback)
    model, tokenizer = tiny_vaner
    args = TrainingArguments(output_dir=str(tmp_path / "run"), use_cpu=True, report_to="none", disable_tqdm=True)
    trainer = VanerTrainer(
        model=model, args=args, eval_dataset={"ncbi": records(4), "lab": records(2)}, processing_class=tokenizer,
        data_args=DataArguments(corpora=["ncbi"], dbr_variant="none"),
    )
    metrics = trainer.evaluate()
    f1 = {key: value for key, value in metrics.items() if key != "epoch"}  # Trainer.log adds the epoch
    assert set(f1) == {"eval_ncbi_f1", "eval_lab_f1", "eval_mean_f1", "eval_overall_f1"}
    assert all(0 <= value <= 1 for value in f1.values())
    assert next(model.parameters()).dtype == torch.float32  # evaluation cast nothing


def test_config_module_imports_neither_torch_nor_transformers():
    code = "import sys, modeling_vaner.training.args; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_evaluation_needs_a_held_out_dev_split(tmp_path, tiny_backbone):
    args = parse_config(tiny_config(tmp_path, tiny_backbone, max_steps=1))
    with pytest.raises(ValueError, match="no held-out dev split"):
        run_training(*args, train_records=records(4), dev={})


def test_resume_continues_from_checkpoint(tmp_path, tiny_backbone):
    from modeling_vaner.loading import load_vaner

    stop = StopAt(4)
    config = tiny_config(
        tmp_path, tiny_backbone, max_steps=6, save_steps=3, eval_steps=3, save_total_limit=None
    )
    args = parse_config(config)
    with pytest.raises(KeyboardInterrupt):
        run_training(*args, train_records=records(16), dev={"ncbi": records(4)}, callbacks=[stop])
    run = tmp_path / "run"
    assert (run / "checkpoint-3").is_dir() and not (run / "checkpoint-6").exists()
    with pytest.raises(ValueError, match="--resume"):
        run_training(*parse_config(config), train_records=records(16), dev={"ncbi": records(4)})
    summary = run_training(
        *parse_config(config), resume=True, train_records=records(16), dev={"ncbi": records(4)}
    )
    assert summary["global_step"] == 6 and (run / "checkpoint-6").is_dir()
    assert load_vaner(str(run / "checkpoint-3"))[2]  # a checkpoint is an adapter folder
    state = json.loads((run / "checkpoint-6" / "trainer_state.json").read_text())
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2, 3, 4, 5, 6]

    # The same run without the interruption ends with the same losses: the resume restored data order and weights.
    (tmp_path / "plain").mkdir()
    plain = run_training(
        *parse_config(tiny_config(tmp_path / "plain", tiny_backbone, max_steps=6, save_steps=3, eval_steps=3)),
        train_records=records(16), dev={"ncbi": records(4)},
    )
    assert plain["global_step"] == 6
    plain_losses = [e["loss"] for e in read_log(tmp_path / "plain" / "run") if "loss" in e]
    resumed_losses = [e["loss"] for e in read_log(run) if "loss" in e]
    assert resumed_losses == pytest.approx(plain_losses, rel=1e-4)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_saves_the_step_reached_and_resume_goes_on(tmp_path, tiny_backbone, number):
    config = tiny_config(tmp_path, tiny_backbone, max_steps=6, save_steps=3, eval_steps=3, save_total_limit=None)
    before = signal.getsignal(number)
    summary = run_training(*parse_config(config), train_records=records(16), dev={"ncbi": records(4)},
                           callbacks=[SignalDuring(4, number)])
    assert signal.getsignal(number) is before  # the previous handler is back
    assert summary["interrupted"] == signal.Signals(number).name
    assert summary["global_step"] == 4 and summary["adapter"] is None
    run = tmp_path / "run"
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-4"]
    assert not (run / RUN_ADAPTER_DIR).exists()  # an unfinished run writes no adapter
    summary = run_training(*parse_config(config), resume=True, train_records=records(16), dev={"ncbi": records(4)})
    assert summary["global_step"] == 6 and "interrupted" not in summary and (run / RUN_ADAPTER_DIR).is_dir()
    state = json.loads((run / "checkpoint-6" / "trainer_state.json").read_text())
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2, 3, 4, 5, 6]


def test_cli_says_where_an_interrupted_run_stands(tmp_path, tiny_backbone, monkeypatch, capsys):
    import importlib

    from modeling_vaner.cli import main

    run = importlib.import_module("modeling_vaner.training.run")
    monkeypatch.setattr(run, "run_training", lambda *args, **kwargs: {"global_step": 4, "interrupted": "SIGTERM"})
    config = tiny_config(tmp_path, tiny_backbone)
    assert main(["train", "--config", str(config), "--resume"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert f"stopped by SIGTERM at step 4; checkpoint-4 is in {tmp_path / 'run'}: continue with --resume" in err


def test_config_errors(tmp_path, tiny_backbone):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        parse_config(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="learnig_rate"):
        parse_config(tiny_config(tmp_path, tiny_backbone, learnig_rate=1e-4))
    with pytest.raises(ValueError, match="unknown corpus ncbi-disease"):
        parse_config(tiny_config(tmp_path, tiny_backbone, corpora=["ncbi-disease"]))
    with pytest.raises(ValueError, match="dbr_variant"):
        parse_config(tiny_config(tmp_path, tiny_backbone, dbr_variant="dense"))
    with pytest.raises(ValueError, match="type_only_share"):
        parse_config(tiny_config(tmp_path, tiny_backbone, type_only_share=1.5))


def test_config_base_chain(tmp_path, tiny_backbone):
    """A stage file holds what differs from its `base:`; its values, then --set's, replace the base's whole."""
    base = tiny_config(tmp_path, tiny_backbone, train_limits={"ncbi": 3})
    stage = tmp_path / "stages" / "stage.yaml"
    stage.parent.mkdir()
    stage.write_text("base: ../config.yaml\nlearning_rate: 0.5\ntrain_limits: {}\n")
    model_args, data_args, training_args = parse_config(stage, {"max_steps": 3})
    assert training_args.learning_rate == 0.5 and training_args.max_steps == 3 and data_args.train_limits == {}
    assert model_args.backbone == str(tiny_backbone) and parse_config(base)[1].train_limits == {"ncbi": 3}
    (tmp_path / "loop.yaml").write_text("base: stages/loop.yaml\n")
    (tmp_path / "stages" / "loop.yaml").write_text("base: ../loop.yaml\n")
    with pytest.raises(ValueError, match="cycle"):
        parse_config(tmp_path / "loop.yaml")
    stage.write_text("base: missing.yaml\n")
    with pytest.raises(FileNotFoundError, match="missing.yaml does not exist"):
        parse_config(stage)


def test_second_stage_starts_from_the_adapter(tmp_path, tiny_backbone, random_adapter):
    first, stage1 = random_adapter
    trained = {name: p for name, p in first.named_parameters() if p.requires_grad}

    second, _ = build_model(
        ModelArguments(backbone=str(tiny_backbone), lora_r=4, lora_alpha=8, init_adapter=str(stage1),
                       frozen_dtype="bfloat16"),
        64,
    )
    for name, parameter in second.named_parameters():
        if parameter.requires_grad:
            assert parameter.dtype == torch.float32 and torch.equal(parameter, trained[name]), name
        else:
            assert parameter.dtype == torch.bfloat16, name
    with pytest.raises(FileNotFoundError, match="init_adapter"):
        build_model(ModelArguments(backbone=str(tiny_backbone), init_adapter=str(tmp_path)), 64)
    with pytest.raises(ValueError, match="needs bf16"):
        run_training(*parse_config(tiny_config(tmp_path, tiny_backbone, frozen_dtype="bfloat16")),
                     train_records=records(4), dev={"ncbi": records(4)})


def test_a_later_stage_keeps_the_types_its_init_adapter_tags(tmp_path, tiny_backbone, random_adapter, capsys):
    """A stage on Disease rows alone, from an adapter that also tags CellType and knows a dataset name: the saved
    model still offers every type and name, and the run names the types that got no training sentence."""
    _, stage1 = random_adapter
    saved = json.loads((stage1 / "config.json").read_text())
    saved["entity_types"] += ["CellType"]
    saved["corpus_types"]["lab-cells"] = "CellType"
    (stage1 / "config.json").write_text(json.dumps(saved))
    config = tiny_config(tmp_path, tiny_backbone, init_adapter=str(stage1), max_steps=2, eval_strategy="no",
                         load_best_model_at_end=False)
    run_training(*parse_config(config), train_records=records(4), dev={})
    after = json.loads((tmp_path / "run" / "adapter" / "config.json").read_text())
    assert after["entity_types"] == saved["entity_types"] and after["corpus_types"]["lab-cells"] == "CellType"
    untrained = ", ".join(name for name in saved["entity_types"] if name != "Disease")
    notice = (f"vaner train: no training sentence of {untrained}, which the model starts out tagging: kept in "
              "the saved model, not trained here (a corpus of that type in `corpora` rehearses it)")
    assert notice in capsys.readouterr().err.splitlines()


def test_adapter_recipe_is_read_inside_the_adapter_folder_only(tmp_path):
    adapter = tmp_path / "run" / "adapter"
    adapter.mkdir(parents=True)
    (adapter.parent / TRAIN_CONFIG_FILE).write_text('{"stage": 1}')  # a run folder's file is not the adapter's
    assert adapter_recipe(adapter) is None
    (adapter / TRAIN_CONFIG_FILE).write_text('{"stage": 2}')
    assert adapter_recipe(adapter) == {"stage": 2}


def write_fake_adapter(folder: Path, lora_b, lora_a, head, rank: int = 2) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank, "lora_alpha": 4, "target_modules": ["q_proj"]}))
    save_file({"q_proj.lora_A.weight": lora_a, "q_proj.lora_B.weight": lora_b, "score.weight": head},
              folder / ADAPTER_WEIGHTS)
    return folder


def test_average_adapters_averages_updates_and_head(tmp_path):
    from safetensors.torch import load_file

    generator = torch.Generator().manual_seed(0)
    shared_b, a_one, a_two = (torch.randn(shape, generator=generator) for shape in [(6, 2), (2, 5), (2, 5)])
    head_one, head_two = torch.zeros(3, 4), torch.ones(3, 4)
    # B differs as a basis but spans the same columns, so the mean update has rank 2 and is kept exactly
    b_two = shared_b @ torch.tensor([[2.0, 1.0], [0.0, 1.0]])
    sources = [write_fake_adapter(tmp_path / "one", shared_b, a_one, head_one),
               write_fake_adapter(tmp_path / "two", b_two, a_two, head_two)]
    record = average_adapters(sources, tmp_path / "mean")
    mean = load_file(tmp_path / "mean" / ADAPTER_WEIGHTS)
    expected = (shared_b @ a_one + b_two @ a_two) / 2
    assert torch.allclose(mean["q_proj.lora_B.weight"] @ mean["q_proj.lora_A.weight"], expected, atol=1e-5)
    assert mean["q_proj.lora_A.weight"].shape == (2, 5) and torch.equal(mean["score.weight"], torch.full((3, 4), 0.5))
    assert record["kept_energy"] == pytest.approx(1.0)

    # a mean update of rank 4 cut to rank 2 keeps less than all of its energy
    write_fake_adapter(tmp_path / "three", torch.randn(6, 2, generator=generator), a_two, head_two)
    assert average_adapters([sources[0], tmp_path / "three"], tmp_path / "cut")["kept_energy"] < 1.0

    write_fake_adapter(tmp_path / "rank4", torch.zeros(6, 4), torch.zeros(4, 5), head_one, rank=4)
    with pytest.raises(ValueError, match="differ in rank"):
        average_adapters([sources[0], tmp_path / "rank4"], tmp_path / "bad")
    with pytest.raises(ValueError, match="at least two"):
        average_adapters([sources[0]], tmp_path / "bad")


@pytest.mark.parametrize("corpora, ncbi_dev", [
    ("tiny_corpora_dir", 6), pytest.param("corpora_dir", 923, marks=pytest.mark.integration)
])
def test_per_corpus_limits_and_repeats(request, corpora, ncbi_dev):
    corpora_dir = request.getfixturevalue(corpora)
    data = DataArguments(corpora=["ncbi", "s800"], corpora_dir=str(corpora_dir), dbr_variant="none",
                         train_limit_per_corpus=5, train_limits={"ncbi": 3}, train_repeats={"ncbi": 2})
    mixture = training_records(data, seed=0)
    assert [record["id"] for record in mixture[:6]] == (
        ["ncbi-train-0"] * 2 + ["ncbi-train-1"] * 2 + ["ncbi-train-2"] * 2
    )
    assert [record["corpus"] for record in mixture[6:]] == ["s800"] * 5
    data.eval_limit_per_corpus, data.eval_limits = 2, {"ncbi": None}
    dev = dev_records(data, seed=0)
    assert len(dev["s800"]) == 2 and len(dev["ncbi"]) == ncbi_dev  # the whole NCBI-disease dev split
    data.train_with_dev = ["ncbi"]  # train+dev: NCBI-disease's whole dev split trains, and is no longer scored
    mixture = training_records(data, seed=0)
    assert len(mixture) == 3 * 2 + ncbi_dev * 2 + 5 and mixture[6]["id"].startswith("ncbi-validation-")
    assert list(dev_records(data, seed=0)) == ["s800"]
    with pytest.raises(ValueError, match="not in `corpora`: bc2gm"):
        DataArguments(corpora=["ncbi"], train_limits={"bc2gm": 3})
    with pytest.raises(ValueError, match="train_with_dev names corpora not in `corpora`: s800"):
        DataArguments(corpora=["ncbi"], train_with_dev=["s800"])
    with pytest.raises(ValueError, match="positive integers"):
        DataArguments(corpora=["ncbi"], train_repeats={"ncbi": 0})


@pytest.mark.parametrize("corpora, limit", [
    ("tiny_corpora_dir", 4), pytest.param("corpora_dir", 40, marks=pytest.mark.integration)
])
def test_type_only_share_of_each_corpus(request, corpora, limit):
    """A seeded share of each corpus's sentences gets the type-only instruction (VANER_adapt's form)."""
    from modeling_vaner.training import instruction_dataset

    corpora_dir = request.getfixturevalue(corpora)
    data = DataArguments(corpora=["ncbi", "s800"], corpora_dir=str(corpora_dir), dbr_variant="none",
                         train_limit_per_corpus=limit, type_only_share=0.25)
    mixture = training_records(data, seed=0)
    for corpus in ("ncbi", "s800"):
        forms = [instruction_dataset(record, True) for record in mixture if record["corpus"] == corpus]
        assert forms.count(None) == limit // 4 and forms.count(corpus) == limit - limit // 4
    assert mixture == training_records(data, seed=0) and mixture != training_records(data, seed=1)
    assert all(instruction_dataset(record, False) is None for record in mixture)


def test_cli_reports_config_errors(tmp_path, capsys):
    from modeling_vaner.cli import main

    assert main(["train", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml does not exist" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "nope.yaml"), "--set", "max_steps"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_set_takes_several_fields():
    from modeling_vaner.cli import build_parser
    from modeling_vaner.training import parse_overrides

    args = build_parser().parse_args(["train", "--config", "x.yaml", "--set", "bf16=true", "frozen_dtype=bfloat16",
                                      "--set", "max_steps=10"])
    assert parse_overrides(args.overrides) == {"bf16": True, "frozen_dtype": "bfloat16", "max_steps": 10}


def test_paper_preset(tmp_path, tiny_backbone, tiny_corpora_dir):
    # TrainingArguments refuses bf16 without a GPU unless use_cpu is set: the only change to parse it here.
    model_args, data_args, training_args = parse_config(ROOT / "configs" / "paper.yaml", {"use_cpu": True})
    assert training_args.bf16
    assert model_args.backbone == "meta-llama/Llama-2-7b-hf" and model_args.load_in_4bit
    assert (model_args.lora_r, model_args.lora_alpha) == (16, 32)
    assert training_args.per_device_train_batch_size == 8 and data_args.max_length == 128
    assert training_args.num_train_epochs == 20 and training_args.learning_rate == 2e-4
    assert training_args.lr_scheduler_type == "constant" and "adamw" in training_args.optim
    assert len(data_args.corpora) == 8 and data_args.dbr_variant == "dbr"

    # Two steps with a tiny model substituted (and the corpora available here, without DBR, subsampled).
    overrides = {
        "backbone": str(tiny_backbone), "corpora": ["ncbi"], "corpora_dir": str(tiny_corpora_dir),
        "dbr_variant": "none", "train_limit_per_corpus": 16, "eval_limit_per_corpus": 4, "final_eval_split": "test",
        "final_eval_limit_per_corpus": 4, "max_steps": 2, "eval_steps": 2, "save_steps": 2,
        "eval_strategy": "steps", "save_strategy": "steps", "output_dir": str(tmp_path / "paper"), "bf16": False,
        "use_cpu": True, "disable_tqdm": True,
    }
    summary = run_training(*parse_config(ROOT / "configs" / "paper.yaml", overrides))
    assert summary["global_step"] == 2
    assert summary["evaluation"]["corpora"]["ncbi"]["sentences"] == 4
    assert json.loads((tmp_path / "paper" / RUN_ADAPTER_DIR / EVALUATION_FILE).read_text())["split"] == "test"


@pytest.mark.parametrize("preset", sorted(path.name for path in (ROOT / "configs").glob("smol*.yaml")))
def test_smol_presets_parse(preset):
    model_args, data_args, training_args = parse_config(ROOT / "configs" / preset)
    assert model_args.backbone == "smollm2-135m" and not model_args.load_in_4bit
    assert training_args.use_cpu
    # every preset trains the paper's four types (vaner-smol 3 adds CellLine from the added corpora)
    types = {CORPORA[name].entity_type for name in data_args.corpora}
    assert {"Disease", "Chemical", "Gene", "Species"} <= types <= {"Disease", "Chemical", "Gene", "Species", "CellLine"}
    # the checkpoint to ship is never deleted: the Trainer keeps the best one, or every one is kept for a choice on
    # the full dev splits afterwards (smol3.yaml)
    assert training_args.load_best_model_at_end or training_args.save_total_limit is None


def test_torchrun_two_processes(tmp_path, tiny_backbone, tiny_corpora_dir):
    """`vaner train` unchanged under torchrun: 2 CPU processes (gloo), NCBI-disease sentences of the tiny corpora, a
    tiny model."""
    config = tiny_config(
        tmp_path, tiny_backbone, corpora_dir=str(tiny_corpora_dir), train_limit_per_corpus=16, eval_limit_per_corpus=5,
        max_steps=4, eval_steps=2, save_steps=2, ddp_backend="gloo", per_device_train_batch_size=2,
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "modeling_vaner.cli", "train", "--config", str(config)],
        capture_output=True, text=True, timeout=300, env=env, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count('"global_step": 4') == 2
    state = json.loads((tmp_path / "run" / "checkpoint-4" / "trainer_state.json").read_text())
    assert [e["step"] for e in state["log_history"] if "eval_mean_f1" in e] == [2, 4]
    assert (tmp_path / "run" / RUN_ADAPTER_DIR / "adapter_model.safetensors").is_file()


def test_training_precision_comes_from_the_one_resolver(monkeypatch):
    from modeling_vaner.training import precision_overrides

    assert precision_overrides("fp32") == {"bf16": False, "frozen_dtype": "float32", "adapter_dtype": "float32"}
    monkeypatch.setenv("VANER_PRECISION", "bf16")  # what "auto" means here, whatever the CPU
    assert precision_overrides("auto") == {"bf16": True, "frozen_dtype": "bfloat16"}
    with pytest.raises(ValueError, match="training precision must be auto, bf16 or fp32, got 'int8'"):
        precision_overrides("int8")
