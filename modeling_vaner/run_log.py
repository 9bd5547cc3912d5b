"""The run log of `vaner train`: `OUTPUT_DIR/log.jsonl`, one JSON object per Trainer log (step, epoch, values),
and its plot, `vaner plot-log RUN_DIR` (training loss and dev F1 against the step)."""

import json
from pathlib import Path

from .adapter import PLOT_FILE

LOG_FILE = "log.jsonl"


def jsonl_log_callback(path: Path):
    """A callback that appends every log (step, epoch and values) to `path` on the main process."""
    from transformers import TrainerCallback

    class JsonlLog(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as log:
                    log.write(json.dumps({"step": state.global_step, "epoch": state.epoch, **logs}) + "\n")

    return JsonlLog()


def read_log(run_dir) -> list[dict]:
    """The log of a run; after a resume, the entries written after the checkpoint are superseded (last wins).

    Raises:
        FileNotFoundError: `run_dir` has no log.jsonl.
    """
    path = Path(run_dir) / LOG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: not a `vaner train` output directory")
    entries = {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        kind = "eval" if any(key.startswith("eval_") for key in entry) else "train"
        entries[(entry["step"], kind, tuple(sorted(entry)))] = entry
    return sorted(entries.values(), key=lambda entry: entry["step"])


def plot_log(run_dir, out_path=None) -> Path:
    """Training loss and dev F1 (mean and per corpus) against the step, as a PNG (default: RUN_DIR/PLOT_FILE).

    Raises:
        FileNotFoundError: `run_dir` has no log.jsonl.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = read_log(run_dir)
    out_path = Path(out_path or Path(run_dir) / PLOT_FILE)
    losses = [(entry["step"], entry["loss"]) for entry in entries if "loss" in entry]
    evals = [entry for entry in entries if "eval_mean_f1" in entry]
    figure, (loss_axis, f1_axis) = plt.subplots(1, 2, figsize=(11, 4))
    if losses:
        loss_axis.plot(*zip(*losses), color="tab:blue")
    loss_axis.set(xlabel="step", ylabel="training loss", title="loss")
    f1_keys = sorted({key for entry in evals for key in entry if key.startswith("eval_") and key.endswith("_f1")})
    for key in f1_keys:
        points = [(entry["step"], 100 * entry[key]) for entry in evals if key in entry]
        bold = key == "eval_mean_f1"
        f1_axis.plot(*zip(*points), marker="o", linewidth=2.5 if bold else 1, label=key[5:-3], alpha=1 if bold else 0.6)
    f1_axis.set(xlabel="step", ylabel="dev F1 (%)", title="dev F1")
    if f1_keys:
        f1_axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out_path, dpi=110)
    plt.close(figure)
    return out_path
