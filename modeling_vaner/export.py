"""Write a self-contained, Hub-ready model folder: weights, config with `auto_map` and `custom_pipelines`, the
code files (`CODE_FILES`), and the tokenizer. The folder loads with `trust_remote_code=True` where this package is not
installed."""

import shutil
from pathlib import Path

CODE_FILES = (
    "configuration_vaner.py",
    "modeling_vaner.py",
    "options_vaner.py",
    "text_vaner.py",
    "processing_vaner.py",
    "decoding_vaner.py",
    "runtime_vaner.py",
    "pipeline_vaner.py",
)
# The task names `pipeline(TASK, model=folder, trust_remote_code=True)` routes to VANER's pipeline. transformers
# (5.x) looks the task up in `custom_pipelines` BEFORE it resolves an alias such as "ner" (pipelines/__init__.py:
# `if task in custom_tasks`, else `check_task`), so each alias is listed itself: without "ner" here,
# `pipeline("ner", ...)` silently builds the stock TokenClassificationPipeline on a VANER model.
PIPELINE_TASKS = ("token-classification", "ner")
CUSTOM_PIPELINES = {
    task: {
        "impl": "pipeline_vaner.VanerTokenClassificationPipeline",
        "pt": ["AutoModelForTokenClassification"],
        "type": "text",
    }
    for task in PIPELINE_TASKS
}


def save_vaner_folder(model, tokenizer, out_dir) -> Path:
    """Save `model` (a `VanerForTokenClassification`, LoRA already merged) and `tokenizer` to `out_dir`.
    Returns the folder path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.config.custom_pipelines = CUSTOM_PIPELINES
    model.save_pretrained(out_dir)  # also writes auto_map and copies the config and model code files
    tokenizer.save_pretrained(out_dir)
    package_dir = Path(__file__).parent
    for name in CODE_FILES:
        shutil.copyfile(package_dir / name, out_dir / name)
    return out_dir
