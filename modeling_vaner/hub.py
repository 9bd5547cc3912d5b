"""Publishing to the Hugging Face Hub: `vaner stage` builds the repository folders exactly as the Hub will serve
them, `vaner push` creates the repositories and uploads the folders.

Staged layout (OUT, default build/hub), one folder per repository, named as the repository, plus a manifest:

    OUT/hub_stage.json    {"namespace": ..., "repos": {kind: {"repo_id", "repo_type", "folder", ...}}}
    OUT/vaner-smol/       model: merged bf16 safetensors, config.json (auto_map, custom_pipelines), code files,
                          tokenizer, README.md (card), evaluation.json, train_config.json, f1_per_corpus.png
    OUT/vaner-corpora/    dataset: the corpus table's corpora whose licence allows it (dataset_scripts.export)
    OUT/vaner-dbr/        dataset: the DBR training mixture (modeling_vaner.dbr.mixture)
    OUT/vaner-demo/       space: app.py, requirements.txt, examples.json, vaner_space.json, README.md, screenshot

The namespace (user or organisation) is given at stage time and written into the cards; `vaner push` checks it
is pushing the namespace that was staged. Repository names and card metadata: hub_card/hub.yaml.
The token comes from $HF_TOKEN or `hf auth login`; it is never a flag and never printed.
"""

import json
import shutil
import sys
from pathlib import Path

DEFAULT_STAGE_DIR = "build/hub"
MANIFEST = "hub_stage.json"
REPO_TYPES = {"model": "model", "corpora": "dataset", "dbr": "dataset", "space": "space"}
PUSH_ORDER = ("corpora", "dbr", "model", "space")  # the Space and the model card link to the ones before them
SCREENSHOT_NAME = "screenshot.png"


def repo_ids(namespace: str, model_name: str | None = None) -> dict:
    """{"model", "corpora", "dbr", "space"}: the repository ids under `namespace`.

    Raises:
        ValueError: an empty namespace, or one with '/'.
    """
    from .hub_card import hub_settings

    if not namespace or "/" in namespace:
        raise ValueError(f"--namespace must be a user or organisation name without '/', got {namespace!r}")
    settings = hub_settings()
    names = {
        "model": model_name or settings["model"]["name"],
        "corpora": settings["datasets"]["corpora"]["name"],
        "dbr": settings["datasets"]["dbr"]["name"],
        "space": settings["space"]["name"],
    }
    return {kind: f"{namespace}/{name}" for kind, name in names.items()}


def fresh_folder(out_dir: Path, repo_id: str) -> Path:
    """OUT/<repository name>, emptied: a staged folder holds exactly what will be uploaded."""
    folder = out_dir / repo_id.split("/")[-1]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


# ---------------------------------------------------------------------------------------------------------------
# Stage
# ---------------------------------------------------------------------------------------------------------------
def stage_model(
    out_dir: Path,
    ids: dict,
    model: str | None = None,
    base_model: str | None = None,
    evaluation: str | None = None,
    train_config: str | None = None,
    allow_untrained: bool = False,
) -> dict:
    """The model repository: LoRA merged, weights cast to hub.yaml's dtype, card rendered from the JSON files.

    Raises:
        ValueError: --model without --base-model, or an untrained head without `allow_untrained`.
    """
    import torch

    from .adapter import (
        EVALUATION_FILE,
        EVALUATION_GUIDELINE_FILE,
        EVALUATION_TYPE_ONLY_FILE,
        TRAIN_CONFIG_FILE,
        default_model_dir,
        run_folder_model,
        run_record_file,
    )
    from .export import save_vaner_folder
    from .hub_card import f1_chart, hub_settings, read_evaluation, render_model_card
    from .loading import load_vaner
    from .release import RELEASE_RECORD

    settings = hub_settings()["model"]
    if model is not None and base_model is None:
        raise ValueError("--base-model is needed with --model (the hub id of its backbone, for the card)")
    loaded, tokenizer, trained = load_vaner(model)
    if not trained and not allow_untrained:
        raise ValueError("the model has an untrained head (no vaner-smol adapter yet): train one, or pass "
                         "--allow-untrained to stage a folder that `vaner push` will refuse")
    folder = fresh_folder(out_dir, ids["model"])
    save_vaner_folder(loaded.to(getattr(torch, settings["dtype"])).eval(), tokenizer, folder)
    # the run record travels inside the adapter folder; a hub id has none
    folder_in = default_model_dir() if model is None else run_folder_model(Path(model))
    evaluation_paths = {
        EVALUATION_FILE: Path(evaluation) if evaluation else run_record_file(folder_in, EVALUATION_FILE),
        **{name: None if evaluation else run_record_file(folder_in, name)
           for name in (EVALUATION_TYPE_ONLY_FILE, EVALUATION_GUIDELINE_FILE)},
    }
    reports = []
    for name, path in evaluation_paths.items():
        if path is not None:
            reports.append(read_evaluation(path) | {"file": name})
            shutil.copyfile(path, folder / name)
    if reports:
        f1_chart(reports[0], folder / settings["chart"], ids["model"])
    config_path = Path(train_config) if train_config else run_record_file(folder_in, TRAIN_CONFIG_FILE)
    recipe = None
    if config_path is not None:
        recipe = json.loads(config_path.read_text(encoding="utf-8"))
        shutil.copyfile(config_path, folder / TRAIN_CONFIG_FILE)
    release_path = run_record_file(folder_in, RELEASE_RECORD)  # a converted release: where it came from
    release = None
    if release_path is not None:
        release = json.loads(release_path.read_text(encoding="utf-8"))
        shutil.copyfile(release_path, folder / RELEASE_RECORD)
    base_model = base_model or settings["base_model"]
    card = render_model_card(ids, base_model, reports, recipe, trained, loaded.config, release)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return {"folder": folder.name, "trained": trained}


def stage_corpora(out_dir: Path, ids: dict, corpora: list[str], corpora_dir=None) -> dict:
    from dataset_scripts.export import export

    folder = fresh_folder(out_dir, ids["corpora"])
    report = export(folder, corpora_dir, tuple(corpora), repo_id=ids["corpora"])
    for name, reason in report["unavailable"].items():
        print(f"vaner stage: corpus {name} skipped: {reason}", file=sys.stderr)
    return {"folder": folder.name, "corpora": report["exported"]}


def stage_dbr(out_dir: Path, ids: dict, corpora: list[str], corpora_dir=None, variant="dbr", limit=None) -> dict:
    from .dbr.mixture import export_dataset

    folder = fresh_folder(out_dir, ids["dbr"])
    export_dataset(folder, corpora, variant, corpora_dir, limit=limit, repo_id=ids["dbr"])
    return {"folder": folder.name}


def stage_space(out_dir: Path, ids: dict) -> dict:
    """The Space: the app files from space/, the default model's id, the card with the screenshot.

    Raises:
        FileNotFoundError: the screenshot is missing.
    """
    from .hub_card import asset_dir, hub_settings, render_space_card

    settings = hub_settings()["space"]
    space_dir = asset_dir("space")
    screenshot = space_dir / settings["screenshot"]
    if not screenshot.is_file():
        raise FileNotFoundError(f"{screenshot} is missing: take it with `python space/screenshot.py`")
    folder = fresh_folder(out_dir, ids["space"])
    for name in settings["files"]:
        shutil.copyfile(space_dir / name, folder / name)
    shutil.copyfile(screenshot, folder / SCREENSHOT_NAME)
    (folder / settings["model_file"]).write_text(json.dumps({"model": ids["model"]}) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(render_space_card(ids, SCREENSHOT_NAME), encoding="utf-8")
    return {"folder": folder.name}


def write_manifest(out_dir: Path, namespace: str, ids: dict, kind: str, entry: dict) -> dict:
    """Record one staged repository in OUT/hub_stage.json (entries staged earlier for the same namespace are
    kept); returns the manifest."""
    path = out_dir / MANIFEST
    manifest = json.loads(path.read_text()) if path.is_file() else None
    if manifest is None or manifest["namespace"] != namespace:
        manifest = {"namespace": namespace, "repos": {}}
    manifest["repos"][kind] = {"repo_id": ids[kind], "repo_type": REPO_TYPES[kind], **entry}
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def stage(
    out_dir,
    namespace: str,
    *,
    model: str | None = None,
    name: str | None = None,
    base_model: str | None = None,
    evaluation: str | None = None,
    train_config: str | None = None,
    allow_untrained: bool = False,
    corpora: list[str] | None = None,
    corpora_dir=None,
    dbr_variant: str = "dbr",
    dbr_limit: int | None = None,
    parts=("model", "corpora", "dbr", "space"),
) -> dict:
    """Stage the repositories of `parts` under OUT; returns the manifest. An entry point: `corpora_dir`, else
    $VANER_CORPORA_DIR, is resolved here and passed down.

    Raises:
        CorpusUnavailableError: the corpora or DBR part is asked for and no corpus can be read.
        ValueError: every part was skipped.
    """
    from dataset_scripts.corpora import PAPER_CORPORA, resolve_corpora_dir

    from .hub_card import hub_settings

    corpora_dir = resolve_corpora_dir(corpora_dir)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = hub_settings()["model"]
    ids = repo_ids(namespace, name or (settings["name"] if model is None else settings["custom_name"]))
    corpora = list(corpora or PAPER_CORPORA)  # the added corpora: named one by one
    if {"corpora", "dbr"} & set(parts):  # fail before minutes of model staging, not after
        from dataset_scripts.corpora import CorpusUnavailableError, readable_corpora

        readable, missing = readable_corpora(corpora, "train", corpora_dir)
        if not readable:
            raise CorpusUnavailableError(f"no corpus can be read: {next(iter(missing.values()))}")
    manifest = None
    for kind in [kind for kind in REPO_TYPES if kind in parts]:  # each is recorded as soon as it is staged
        if kind == "model":
            entry = stage_model(out_dir, ids, model, base_model, evaluation, train_config, allow_untrained)
        elif kind == "corpora":
            entry = stage_corpora(out_dir, ids, corpora, corpora_dir)
            corpora = entry["corpora"]  # the mixture is built from the corpora that could be read
        elif kind == "dbr":
            entry = stage_dbr(out_dir, ids, corpora, corpora_dir, dbr_variant, dbr_limit)
        else:
            entry = stage_space(out_dir, ids)
        manifest = write_manifest(out_dir, namespace, ids, kind, entry)
    if manifest is None:
        raise ValueError("nothing to stage: every part was skipped")
    return manifest


# ---------------------------------------------------------------------------------------------------------------
# Push
# ---------------------------------------------------------------------------------------------------------------
def read_manifest(staged_dir, namespace: str) -> dict:
    """The manifest of a staged folder, checked against `namespace` and the folders it lists.

    Raises:
        FileNotFoundError: no manifest, or a staged folder is missing.
        ValueError: staged for another namespace.
    """
    path = Path(staged_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `vaner stage --out {staged_dir} --namespace {namespace}` first")
    manifest = json.loads(path.read_text())
    if manifest["namespace"] != namespace:
        raise ValueError(
            f"{staged_dir} was staged for namespace {manifest['namespace']!r}, not {namespace!r}: "
            f"run `vaner stage --out {staged_dir} --namespace {namespace}`"
        )
    for kind, repo in manifest["repos"].items():
        if not (Path(staged_dir) / repo["folder"]).is_dir():
            raise FileNotFoundError(f"staged folder {Path(staged_dir) / repo['folder']} ({kind}) is missing")
    return manifest


def folder_files(folder: Path) -> list[tuple[str, int]]:
    """(relative path, bytes) of every file that upload_folder would send."""
    return [
        (path.relative_to(folder).as_posix(), path.stat().st_size)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(folder).parts
    ]


def human_size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000


def dry_run_listing(staged_dir, manifest: dict, private: bool | None = None) -> str:
    """Each repository (with its visibility unless `private` is None), then its files and sizes."""
    lines = []
    for kind in [kind for kind in PUSH_ORDER if kind in manifest["repos"]]:
        repo = manifest["repos"][kind]
        files = folder_files(Path(staged_dir) / repo["folder"])
        total = human_size(sum(size for _, size in files))
        visibility = "" if private is None else (" (private)" if private else " (public)")
        lines.append(f"{repo['repo_type']} {repo['repo_id']}{visibility}: {len(files)} files, {total}")
        lines += [f"  {human_size(size):>10}  {path}" for path, size in files]
    return "\n".join(lines)


def push(staged_dir, namespace: str, private: bool = False, dry_run: bool = False) -> list[str]:
    """Create the staged repositories under `namespace` and upload their folders; returns their URLs. With
    `dry_run`, prints the files and sizes instead and touches nothing.

    Raises:
        ValueError: an untrained model was staged, no token, or HF_HUB_OFFLINE is set.
        FileNotFoundError: see `read_manifest`.
    """
    manifest = read_manifest(staged_dir, namespace)
    untrained = [repo["repo_id"] for repo in manifest["repos"].values() if repo.get("trained") is False]
    if dry_run:
        print(dry_run_listing(staged_dir, manifest, private))
        if untrained:
            print(f"warning: {', '.join(untrained)} has an untrained head; a real push refuses it", file=sys.stderr)
        return []
    if untrained:
        raise ValueError(f"{', '.join(untrained)} was staged with an untrained head: stage a trained model first")
    from huggingface_hub import HfApi, constants, get_token

    token = get_token()
    if token is None:
        raise ValueError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (write access to the namespace)")
    if constants.HF_HUB_OFFLINE:
        raise ValueError("HF_HUB_OFFLINE is set: unset it to push")
    api = HfApi(token=token)
    urls = []
    for kind in [kind for kind in PUSH_ORDER if kind in manifest["repos"]]:
        repo = manifest["repos"][kind]
        extra = {"space_sdk": "gradio"} if repo["repo_type"] == "space" else {}
        url = api.create_repo(repo["repo_id"], repo_type=repo["repo_type"], private=private, exist_ok=True, **extra)
        api.upload_folder(
            repo_id=repo["repo_id"],
            repo_type=repo["repo_type"],
            folder_path=Path(staged_dir) / repo["folder"],
            commit_message=f"vaner push: {kind}",
        )
        print(f"pushed {repo['repo_type']} {url}")
        urls.append(str(url))
    return urls
