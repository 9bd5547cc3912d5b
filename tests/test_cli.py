"""The `vaner` command: its parser (built without torch, commands listed in two groups, shared options), and
`vaner extract` from an argument, a file and standard input; table and JSONL output; clear errors."""

import io
import json
import os
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


def extract(capsys, *args) -> tuple[int, str, str]:
    """`vaner extract ARGS` in this process (status, stdout, stderr); a Ctrl-C escaping `main` fails the test."""
    from modeling_vaner.cli import main

    try:
        status = main(["extract", *map(str, args)])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped main: a traceback for the user")
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_extract_drops_a_byte_order_mark_from_a_file_and_stdin(tiny_folder, tmp_path, monkeypatch, capsys):
    text = "Mice carry BRCA1."
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    options = ["--model", tiny_folder, "--types", "Gene", "--format", "jsonl", "--precision", "fp32"]
    runs = [extract(capsys, text, *options), extract(capsys, "--file", path, *options)]
    # standard input is read as UTF-8 whatever the locale's encoding
    stdin = io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbf" + text.encode()), encoding="latin-1")
    monkeypatch.setattr(sys, "stdin", stdin)
    runs.append(extract(capsys, *options))
    assert [status for status, _, _ in runs] == [0, 0, 0]
    entities = [json.loads(line) for line in runs[0][1].splitlines()]
    assert entities[0]["start"] == 0 and all(text[e["start"] : e["end"]] == e["word"] for e in entities)
    assert runs[1][1] == runs[2][1] == runs[0][1]  # offsets count from the text after the mark


def test_extract_names_a_file_that_is_not_utf8_or_is_a_directory(tiny_folder, tmp_path, monkeypatch, capsys):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Ménière’s disease".encode("latin-1", errors="replace"))
    invalid = "not valid UTF-8 at byte 1 (invalid continuation byte 0xe9); save it as UTF-8"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(latin1.read_bytes())))
    for args, message in (
        (["--file", latin1], f"{latin1}: {invalid}"),
        ([], f"standard input: {invalid}"),
        (["--file", tmp_path], f"{tmp_path} is a directory: give a file"),
    ):
        status, out, err = extract(capsys, *args, "--model", tiny_folder)
        assert (status, out, err.splitlines()) == (2, "", [f"vaner extract: error: {message}"])


def test_ctrl_c_ends_with_one_line_and_status_130(tiny_folder, monkeypatch, capsys):
    import modeling_vaner.cli.extract as extract_command

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(extract_command, "read_input_text", interrupted)
    assert extract(capsys, "Mice.", "--model", tiny_folder) == (130, "", "vaner extract: interrupted\n")


def test_extract_shows_progress_on_a_long_text_with_the_same_entities(tiny_folder, tmp_path, capsys):
    from modeling_vaner.cli.extract import PROGRESS_FROM_CHARACTERS
    from modeling_vaner.loading import load_pipeline

    sentence = "Mutations in BRCA1 cause breast cancer in mice. "
    text = sentence * (PROGRESS_FROM_CHARACTERS // len(sentence) + 1)
    path = tmp_path / "long.txt"
    path.write_text(text, encoding="utf-8")
    options = ["--model", tiny_folder, "--types", "Gene", "Disease", "--format", "jsonl", "--precision", "fp32"]
    status, out, err = extract(capsys, "--file", path, *options)
    assert status == 0
    bars = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("vaner extract: ")]
    assert bars and "100%|" in bars[-1] and "token/s" in bars[-1], err[-2000:]  # a total, so a percentage and ETA
    # the same entities as the whole text tagged at once by a silent pipeline, offsets into the original text
    tagger = load_pipeline(str(tiny_folder), precision="fp32")
    expected = json.loads(json.dumps(tagger(text, entity_types=["Gene", "Disease"])))
    assert [json.loads(line) for line in out.splitlines()] == expected and len(expected) > 1000
    assert "token" not in capsys.readouterr().err  # the pipeline's default: no bar
    status, _, err = extract(capsys, sentence, *options)
    assert status == 0 and "vaner extract: " not in err  # a short text: no bar


@pytest.mark.parametrize(
    "args",
    [
        ["stage", "--namespace", "org", "--out", "{tmp}/stage"],
        ["evaluate", "--corpus", "all"],
        ["evaluate", "--corpus", "ncbi", "s800"],
        ["data", "stats"],
        ["data", "export", "--out", "{tmp}/export"],
        ["data", "rehearsal", "--out", "{tmp}/rehearsal.jsonl"],
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


USER_COMMANDS = ("extract", "annotate", "evaluate", "evaluate-linking", "train", "export-onnx")
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
            if action.dest in ("model", "precision", "batch_size", "onnx", "types", "dataset", "strict_types",
                               "device", "verbose"):
                seen.setdefault(action.dest, set()).add((action.help, action.default, tuple(action.choices or ())))
    assert all(len(variants) == 1 for variants in seen.values()), seen
    assert len(seen) == 9
    for name in ("extract", "annotate", "evaluate"):  # --strict-types: on every command that tags
        assert "strict_types" in {action.dest for action in subcommands[name]._actions}, name
    ((_, batch_size, _),) = seen["batch_size"]
    ((_, _, precisions),) = seen["precision"]
    assert batch_size == DEFAULT_BATCH_SIZE and precisions == PRECISIONS



def test_threads_option_and_the_wait_policy(tiny_folder, monkeypatch):
    """`--threads N` sets the forward's threads; a bad N is an argument error; OpenMP's idle threads sleep unless
    the user chose otherwise (the policy is read when torch loads OpenMP: a fresh process)."""
    bad = vaner("extract", "Mice.", "--model", str(tiny_folder), "--threads", "0")
    assert bad.returncode == 2 and "expected a positive integer, got '0'" in bad.stderr
    script = (
        "import os, torch; from modeling_vaner.cli import main; "
        "main(['extract', 'Mice.', '--model', {folder!r}, '--threads', '1', '--precision', 'fp32']); "
        "print('threads', torch.get_num_threads(), os.environ['OMP_WAIT_POLICY'])"
    )
    for env, policy in (({}, "PASSIVE"), ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE")):
        environment = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
        result = subprocess.run(
            [sys.executable, "-c", script.format(folder=str(tiny_folder))],
            env={**environment, **env}, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == f"threads 1 {policy}"


def trained_types(folder) -> list[str]:
    """The types a saved model was trained on: its config's, never a list written here."""
    return json.loads((folder / "config.json").read_text())["entity_types"]


def test_extract_never_takes_a_missing_text_for_a_text_without_entities(tiny_folder, tmp_path):
    # argparse gives --types every value up to the next option, so `--types T "text"` makes the text a second type;
    # from a script (standard input not a terminal, and empty) that used to print "(no entities)" with status 0
    text, trained = "Mice eat cheese.", trained_types(tiny_folder)[0]
    taken = vaner("extract", "--model", str(tiny_folder), "--types", trained, text, stdin="")
    assert (taken.returncode, taken.stdout) == (2, "")
    assert "vaner extract: error: no text on standard input (did --types take it? put the text before --types)" in (
        taken.stderr
    )
    blank = tmp_path / "blank.txt"
    blank.write_text(" \n", encoding="utf-8")
    for args, message in (([" "], "the text argument is empty"), (["--file", str(blank)], f"{blank} holds no text")):
        completed = vaner("extract", *args, "--model", str(tiny_folder))
        assert (completed.returncode, completed.stdout) == (2, ""), completed.stderr[-2000:]
        assert f"vaner extract: error: {message}" in completed.stderr
    placed = vaner("extract", text, "--model", str(tiny_folder), "--types", trained, "--format", "jsonl")
    assert placed.returncode == 0 and placed.stdout, placed.stderr[-2000:]  # the text before --types is tagged


def test_an_untrained_type_is_named_once_or_refused_with_strict_types(tiny_folder, tmp_path):
    trained = trained_types(tiny_folder)
    unknown = "".join(trained) + "X"
    command = ["extract", "Mice. Rats.", "--model", str(tiny_folder), "--types", unknown, trained[0]]
    warned = vaner(*command, "--format", "jsonl")
    assert warned.returncode == 0, warned.stderr[-2000:]
    warnings = [line for line in warned.stderr.splitlines() if line.startswith("vaner extract: warning: ")]
    assert len(warnings) == 1 and repr(unknown) in warnings[0], warned.stderr[-2000:]
    assert all(entity_type in warnings[0] for entity_type in trained)
    assert {json.loads(line)["entity_group"] for line in warned.stdout.splitlines()} <= {unknown, trained[0]}
    refused = vaner(*command, "--strict-types")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert f"vaner extract: error: entity type {unknown!r} is not one this model was trained on" in refused.stderr
    # annotate refuses before it writes anything: no OUTPUT.parts/ left to block the corrected command
    source, output = tmp_path / "abstracts.txt", tmp_path / "tagged.jsonl"
    source.write_text("Mice eat cheese.\nRats too.\n", encoding="utf-8")
    annotated = vaner("annotate", str(source), str(output), "--model", str(tiny_folder), "--types", unknown,
                      "--strict-types")
    assert annotated.returncode == 2 and "is not one this model was trained on" in annotated.stderr
    assert not output.exists() and not output.with_name(output.name + ".parts").exists()


LIBRARY_NOISE = ("Loading weights", "LOAD REPORT", "MISSING", "Skipping publisher", "instantiate a model of type")


@pytest.fixture
def tiny_adapter(tiny_backbone, tmp_path):
    """An adapter folder as `vaner train` writes it, on the tiny backbone (untrained LoRA): loading it builds the
    backbone with a new head (transformers' load report), then imports peft (bitsandbytes' kernel notices)."""
    from modeling_vaner.adapter import save_adapter
    from modeling_vaner.training import ModelArguments, build_model

    model, _ = build_model(ModelArguments(backbone=str(tiny_backbone), lora_r=4, lora_alpha=8), 64)
    return save_adapter(model, tmp_path / "adapter")


def test_stderr_carries_no_library_chatter_unless_verbose(tiny_folder, tiny_adapter):
    """A model folder and an adapter folder load without weight-loading bars, load reports or import notices on
    stderr (the suite runs with HF_HUB_OFFLINE=1, where `kernels` would say that it skips the publisher check);
    --verbose shows what the libraries print."""
    for model in (tiny_folder, tiny_adapter):
        quiet = vaner("extract", "Mice.", "--model", str(model), "--types", "Gene", "--precision", "fp32")
        assert quiet.returncode == 0 and quiet.stdout, quiet.stderr[-2000:]  # the adapter's head: untrained
        assert quiet.stderr == "", quiet.stderr[-2000:]
    verbose = vaner("extract", "Mice.", "--model", str(tiny_adapter), "--types", "Gene", "--precision", "fp32",
                    "--verbose")
    assert verbose.returncode == 0 and verbose.stdout == quiet.stdout, verbose.stderr[-2000:]
    assert "Loading weights" in verbose.stderr and "LOAD REPORT" in verbose.stderr


def test_train_says_nothing_of_the_new_head(tiny_backbone, tiny_corpora_dir, tmp_path):
    """`vaner train` builds a model whose head is new by design: no load report ("score.weight | MISSING"), no
    weight-loading bar, no import notice, no warning at each checkpoint; --verbose brings the report back."""
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps({
        "backbone": str(tiny_backbone), "lora_r": 4, "lora_alpha": 8, "corpora": ["ncbi"],
        "corpora_dir": str(tiny_corpora_dir), "train_limit_per_corpus": 8, "dbr_variant": "none", "max_length": 64,
        "final_eval_split": "none", "per_device_train_batch_size": 4, "max_steps": 2, "eval_strategy": "no",
        "save_steps": 1, "report_to": "none", "use_cpu": True, "disable_tqdm": True,
    }))
    runs = [vaner("train", "--config", str(config), "--output-dir", str(tmp_path / name), *flag)
            for name, flag in (("quiet", []), ("verbose", ["--verbose"]))]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr[-2000:] + runs[1].stderr[-2000:]
    assert not [noise for noise in LIBRARY_NOISE if noise in runs[0].stderr], runs[0].stderr[-3000:]
    assert "LOAD REPORT" in runs[1].stderr and "score.weight" in runs[1].stderr


@pytest.fixture
def no_cuda(monkeypatch):
    """This process's torch as a machine without CUDA sees it (whatever this machine has)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_device_option_on_every_tagging_command(tiny_folder, tmp_path, no_cuda, capsys):
    """--device cuda without CUDA is one line and status 2 on extract, evaluate and annotate (annotate before it
    writes anything); --device auto runs on the CPU there (evaluate's report says where it ran)."""
    from modeling_vaner.cli import main

    tagged, source, output = tmp_path / "tagged.tsv", tmp_path / "abstracts.txt", tmp_path / "out.jsonl"
    tagged.write_text("Mice\tB-Species\neat\tO\n.\tO\n", encoding="utf-8")
    source.write_text("Mice eat cheese.\n", encoding="utf-8")
    commands = {
        "extract": ["extract", "Mice.", "--types", "Species"],
        "evaluate": ["evaluate", "--file", str(tagged), "--output", str(tmp_path / "report.json")],
        "annotate": ["annotate", str(source), str(output)],
    }
    for name, command in commands.items():
        assert main([*command, "--model", str(tiny_folder), "--device", "cuda"]) == 2, name
        lines = capsys.readouterr().err.splitlines()
        expected = f"vaner {name}: error: device 'cuda': CUDA is not available ("
        assert len(lines) == 1 and lines[0].startswith(expected), lines
    assert not output.exists() and not output.with_name(output.name + ".parts").exists()
    assert main([*commands["evaluate"], "--model", str(tiny_folder), "--device", "auto", "--precision", "fp32"]) == 0
    assert json.loads((tmp_path / "report.json").read_text())["inference"]["device"] == "cpu"

