"""The `vaner` command: its parser (built without torch, commands listed in two groups, shared options), and
`vaner extract` from an argument, a file and standard input; table and JSONL output; clear errors."""

import json
import subprocess
import sys

import pytest
import torch

from modeling_vaner.export import save_vaner_folder

TEXT = "Mutations in BRCA1 cause breast cancer.\tTamoxifen – twice."


@pytest.fixture
def tiny_folder(tiny_vaner, tmp_path):
    model, tokenizer = tiny_vaner
    # predict B everywhere (a logit margin of 10: the same labels in fp32 and bf16), so that every word is an entity
    with torch.no_grad():
        model.score.weight.zero_()
        model.score.bias.copy_(torch.tensor([0.0, 10.0, 0.0]))
    return save_vaner_folder(model, tokenizer, tmp_path / "model")


def vaner(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "modeling_vaner.cli", *args], input=stdin, capture_output=True, text=True, timeout=300
    )


def test_extract_jsonl_from_argument_file_and_stdin(tiny_folder, tmp_path):
    text_file = tmp_path / "abstract.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    outputs = [
        vaner("extract", TEXT, "--model", str(tiny_folder), "--types", "Gene", "--format", "jsonl"),
        vaner("extract", "--file", str(text_file), "--model", str(tiny_folder), "--types", "Gene", "--format", "jsonl"),
        vaner("extract", "--model", str(tiny_folder), "--types", "Gene", "--format", "jsonl", stdin=TEXT),
    ]
    for completed in outputs:
        assert completed.returncode == 0, completed.stderr[-2000:]
    entities = [json.loads(line) for line in outputs[0].stdout.splitlines()]
    # every word an entity, but punctuation alone (a span needs a letter or digit)
    assert [e["word"] for e in entities] == ["Mutations", "in", "BRCA1", "cause", "breast", "cancer", "Tamoxifen",
                                             "twice"]
    assert all(TEXT[e["start"] : e["end"]] == e["word"] and e["entity_group"] == "Gene" for e in entities)
    assert outputs[1].stdout == outputs[0].stdout == outputs[2].stdout


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_extract_table(tiny_folder, precision):
    completed = vaner(
        "extract", "Mice.", "--model", str(tiny_folder), "--types", "Species", "Gene", "--precision", precision
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    # torchao's import noise
    assert "Failed to load" not in completed.stderr and "Enum subclass" not in completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].split() == ["start", "end", "type", "score", "text"]
    assert lines[1].split()[:3] == ["0", "4", "Gene"] and lines[1].split()[-1] == "Mice"


def test_export_onnx_then_extract_with_it(tiny_folder, tmp_path):
    path = tmp_path / "model.onnx"
    exported = vaner("export-onnx", str(path), "--model", str(tiny_folder))
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert "wrote" in exported.stdout and "warn" not in exported.stderr.lower()  # the exporter's noise is silenced
    again = vaner("export-onnx", str(path), "--model", str(tiny_folder))
    assert again.returncode == 2 and "exists: pass --overwrite" in again.stderr
    text = "BRCA1 mutations cause breast cancer in mice."
    runs = [
        vaner("extract", text, "--model", str(tiny_folder), "--format", "jsonl", "--precision", "fp32", *onnx)
        for onnx in ([], ["--onnx", str(path)])
    ]
    assert all(run.returncode == 0 for run in runs), runs[1].stderr[-2000:]
    torch_entities, onnx_entities = ([json.loads(line) for line in run.stdout.splitlines()] for run in runs)
    assert torch_entities and len(onnx_entities) == len(torch_entities)
    for expected, actual in zip(torch_entities, onnx_entities):
        assert {**actual, "score": None} == {**expected, "score": None}
        assert actual["score"] == pytest.approx(expected["score"], abs=1e-4)


def test_extract_errors_are_clear(tiny_folder, tmp_path):
    missing = vaner("extract", "--file", str(tmp_path / "nope.txt"), "--model", str(tiny_folder))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    bad_type = vaner("extract", "Mice.", "--model", str(tiny_folder), "--types", " ")
    assert bad_type.returncode == 2 and "entity type must be a non-empty string" in bad_type.stderr
    not_a_model = vaner("extract", "Mice.", "--model", str(tmp_path))
    assert not_a_model.returncode == 2 and "has no config.json" in not_a_model.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["stage", "--namespace", "org", "--out", "{tmp}/stage"],
        ["evaluate", "--corpus", "all"],
        ["evaluate", "--corpus", "ncbi", "s800"],
        ["data", "stats"],
        ["data", "export", "--out", "{tmp}/export"],
        ["dbr", "check"],
        ["dbr", "build", "--corpus", "ncbi", "--out", "{tmp}/dbr"],
        ["train", "--config", "configs/smol.yaml", "--set", "output_dir={tmp}/run"],
    ],
)
def test_every_command_offline_without_corpora_says_what_is_missing(args, tmp_path, monkeypatch, capsys):
    from modeling_vaner.cli import main

    monkeypatch.chdir(__import__("conftest").REPO_ROOT)
    monkeypatch.delenv("VANER_CORPORA_DIR", raising=False)
    monkeypatch.delenv("VANER_KB_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main([arg.format(tmp=tmp_path) for arg in args]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith(f"vaner {args[0]}") and "error: " in line]
    assert len(errors) == 1 and "Traceback" not in err, err[-2000:]
    assert "--corpora-dir" in errors[0] or "corpora directory" in errors[0], errors[0]


USER_COMMANDS = ("extract", "annotate", "evaluate", "train", "export-onnx")
MAINTAINER_COMMANDS = ("stage", "push", "convert-release", "install-adapter", "average-adapters", "plot-log",
                       "backbone", "data", "dbr")


def test_parser_builds_without_torch_or_transformers():
    code = (
        "import sys; from modeling_vaner.cli import build_parser; build_parser(); "
        "print(sorted({'torch', 'transformers', 'datasets'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_help_lists_user_commands_apart_from_maintainer_commands():
    completed = vaner("--help")
    assert completed.returncode == 0, completed.stderr
    user, maintainer = completed.stdout.split("\ncommands:\n")[1].split("\nmaintainer and data commands:\n")
    listed = [[line.split()[0] for line in block.splitlines() if line.startswith("  ") and line[2] != " "]
              for block in (user, maintainer.split("\n\n")[0])]
    assert listed == [list(USER_COMMANDS), list(MAINTAINER_COMMANDS)]
    assert "tag biomedical entities in text" in user  # each command with its one-line help
    sub = vaner("evaluate", "--help")  # a command's own help is argparse's
    assert sub.returncode == 0 and sub.stdout.startswith("usage: vaner evaluate")


def test_shared_options_have_one_default_and_one_help():
    from modeling_vaner.cli import build_parser
    from modeling_vaner.options_vaner import DEFAULT_BATCH_SIZE, PRECISIONS

    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    seen = {}
    for name in ("extract", "annotate", "evaluate"):
        for action in subcommands[name]._actions:
            if action.dest in ("model", "precision", "batch_size", "onnx", "types", "dataset"):
                seen.setdefault(action.dest, set()).add((action.help, action.default, tuple(action.choices or ())))
    assert all(len(variants) == 1 for variants in seen.values()), seen
    assert len(seen) == 6
    ((_, batch_size, _),) = seen["batch_size"]
    ((_, _, precisions),) = seen["precision"]
    assert batch_size == DEFAULT_BATCH_SIZE and precisions == PRECISIONS

