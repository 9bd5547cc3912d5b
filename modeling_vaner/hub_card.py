"""Hub cards: the model card, the Space card and the per-corpus F1 chart, rendered from the templates and settings
in `hub_card/` (hub.yaml) and from JSON files only: `evaluation.json` (written by `vaner evaluate` / `vaner
train`) for every score, `train_config.json` (written by `vaner train`) for the training recipe.

An evaluation report is {"split", "instruction", "gold", "limit_per_corpus", "corpora": {corpus: {"precision",
"recall", "f1", "sentences", ...}}, "overall": {...}, "mean_f1"} with scores as fractions (see `evaluation.py`); a
bare {corpus: {"precision", "recall", "f1"}} mapping is read too.
"""

import json
from pathlib import Path

SETTINGS_FILE = "hub.yaml"
SCORE_KEYS = ("precision", "recall", "f1")
# The card templates (hub_card/), the Space app (space/) and the training presets (configs/) sit beside the package
# in a source checkout; a wheel carries them inside it, as modeling_vaner/assets/<name> (setup.py).
ASSET_DIRS = ("hub_card", "space", "configs")


def asset_dir(name: str) -> Path:
    """The folder of one of ASSET_DIRS, in the installed package or else in the source checkout.

    Raises:
        FileNotFoundError: neither holds it (an install without package data).
    """
    package = Path(__file__).resolve().parent
    candidates = (package / "assets" / name, package.parent / name)
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f"{name}/ not found in {' or '.join(map(str, candidates))}: reinstall the package")


def card_dir() -> Path:
    return asset_dir("hub_card")


def hub_settings() -> dict:
    """hub_card/hub.yaml: repository names, card metadata and the files of each staged repository."""
    import yaml

    return yaml.safe_load((card_dir() / SETTINGS_FILE).read_text(encoding="utf-8"))


def render(template: str, metadata: dict, **context) -> str:
    """A card: `metadata` as the YAML front matter (`metadata_yaml`), the template filled with `context`."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(card_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    return environment.get_template(template).render(metadata_yaml=front_matter(metadata), **context)


def front_matter(metadata: dict) -> str:
    import yaml

    return yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=1000).strip()


# ---------------------------------------------------------------------------------------------------------------
# Evaluation report
# ---------------------------------------------------------------------------------------------------------------
def read_evaluation(path) -> dict:
    """The evaluation report at `path`, normalized to {"split", "instruction", "gold" ("corpus" or "guideline"),
    "limit_per_corpus", "corpora", "overall" (None if absent)}, with every per-corpus score checked to be a
    fraction.

    Raises:
        ValueError: no per-corpus scores, a missing score, or a score outside [0, 1] (file named).
    """
    path = Path(path)
    report = json.loads(path.read_text(encoding="utf-8"))
    corpora = report.get("corpora", report)
    if not isinstance(corpora, dict) or not corpora:
        raise ValueError(f"{path}: no per-corpus scores (expected 'corpora': {{corpus: {{precision, recall, f1}}}})")
    for corpus, scores in corpora.items():
        missing = [key for key in SCORE_KEYS if not isinstance(scores, dict) or key not in scores]
        if missing:
            raise ValueError(f"{path}: corpus {corpus!r} lacks {', '.join(missing)}")
        if not all(0.0 <= scores[key] <= 1.0 for key in SCORE_KEYS):
            raise ValueError(f"{path}: corpus {corpus!r} scores must be fractions in [0, 1], got {scores}")
    return {
        "split": report.get("split", "test"),
        "instruction": report.get("instruction", "dataset"),
        "gold": report.get("gold", "corpus"),
        "limit_per_corpus": report.get("limit_per_corpus"),
        "corpora": corpora,
        "overall": report.get("overall") if "corpora" in report else None,
    }


def percent(value: float) -> str:
    return f"{100 * value:.2f}"


def evaluation_table(report: dict) -> dict:
    """Rows (as percent strings) beside the paper's F1, for the card; against the guideline's gold the paper's F1
    scores other labels, so it is left out."""
    from dataset_scripts.corpora import CORPUS_TYPES, PAPER_F1

    corpora = report["corpora"]
    paper_f1 = PAPER_F1 if report["gold"] == "corpus" else {}
    rows = []
    for corpus, scores in corpora.items():
        paper = paper_f1.get(corpus)
        rows.append(
            {
                "corpus": corpus,
                "type": CORPUS_TYPES.get(corpus, "-"),
                "sentences": scores.get("sentences", "-"),
                **{key: percent(scores[key]) for key in SCORE_KEYS},
                "paper_f1": "-" if paper is None else f"{paper:.2f}",
                "delta": "-" if paper is None else f"{100 * scores['f1'] - paper:+.2f}",
            }
        )
    mean_f1 = sum(scores["f1"] for scores in corpora.values()) / len(corpora)
    overall = report["overall"]
    if overall is not None:
        overall = {key: percent(overall[key]) for key in SCORE_KEYS} | {"sentences": overall.get("sentences", "-")}
    paper_scores = [paper_f1[corpus] for corpus in corpora if corpus in paper_f1]
    paper_mean = sum(paper_scores) / len(paper_scores) if len(paper_scores) == len(corpora) else None
    return {
        "split": report["split"],
        "instruction": report["instruction"],
        "gold": report["gold"],
        "file": report.get("file"),
        "limit": report["limit_per_corpus"],
        "rows": rows,
        "overall": overall,
        "mean_f1": percent(mean_f1),
        "paper_mean_f1": "-" if paper_mean is None else f"{paper_mean:.2f}",
        "mean_delta": "-" if paper_mean is None else f"{100 * mean_f1 - paper_mean:+.2f}",
    }


def model_index(name: str, reports: list[dict], corpora_repo: str) -> list[dict]:
    """The card's `model-index`: one result per corpus and report (instruction form), metrics in percent,
    straight from the reports."""
    from dataset_scripts.corpora import CORPUS_TYPES

    results = []
    for report, (corpus, scores) in ((r, item) for r in reports for item in r["corpora"].items()):
        sentences = f", {scores['sentences']} sentences" if "sentences" in scores else ""
        gold = ", guideline gold" if report["gold"] == "guideline" else ""
        results.append(
            {
                "task": {"type": "token-classification", "name": "Named Entity Recognition"},
                "dataset": {
                    "name": f"{corpus} ({CORPUS_TYPES.get(corpus, 'entities')}, {report['split']}{sentences}, "
                    f"{report['instruction']} instruction{gold})",
                    "type": corpora_repo,
                    "config": corpus,
                    "split": report["split"],
                },
                "metrics": [
                    {"type": key, "value": round(100 * scores[key], 2), "name": f"entity-level {key} (seqeval)"}
                    for key in SCORE_KEYS
                ],
            }
        )
    return [{"name": name, "results": results}]


def f1_chart(report: dict, path, title: str) -> Path:
    """A bar chart of F1 per corpus (this model beside the paper's VANER), saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dataset_scripts.corpora import PAPER_F1

    corpora = list(report["corpora"])
    ours = [100 * report["corpora"][corpus]["f1"] for corpus in corpora]
    paper = [PAPER_F1.get(corpus, 0.0) for corpus in corpora]
    positions = range(len(corpora))
    width = 0.4
    figure, axes = plt.subplots(figsize=(max(6.0, 1.1 * len(corpora)), 3.6), dpi=120)
    bars = axes.bar([p - width / 2 for p in positions], ours, width, label=title, color="#3b7dd8")
    axes.bar([p + width / 2 for p in positions], paper, width, label="VANER paper (LLaMA-2-7B)", color="#bbbbbb")
    axes.bar_label(bars, fmt="%.1f", fontsize=7)
    axes.set_xticks(list(positions), corpora, rotation=20, fontsize=8)
    axes.set_ylabel(f"entity F1 (%), {report['split']}")
    axes.set_ylim(0, 100)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path)
    plt.close(figure)
    return path


# ---------------------------------------------------------------------------------------------------------------
# Training recipe
# ---------------------------------------------------------------------------------------------------------------
def recipe_rows(train_config: dict, fields: list[str]) -> list[tuple[str, str]]:
    """(field, value) for each `section.field` of `fields` present in a train_config.json."""
    rows = []
    for dotted in fields:
        section, name = dotted.split(".", 1)
        values = train_config.get(section) or {}
        if name in values:
            value = values[name]
            rows.append((name, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    return rows


def recipe_stages(train_config: dict, fields: list[str]) -> list[list[tuple[str, str]]]:
    """The recipe rows of each training stage, earliest first: a run started from an earlier stage's adapter
    (`init_adapter`) records that stage's train_config.json as `init_adapter_recipe`."""
    stages = []
    while train_config:
        stages.insert(0, recipe_rows(train_config, fields))
        train_config = train_config.get("init_adapter_recipe")
    return stages


# ---------------------------------------------------------------------------------------------------------------
# Cards
# ---------------------------------------------------------------------------------------------------------------
def card_corpora(train_config: dict | None, evaluations: list[dict]) -> list[str]:
    """The corpora behind a model, for its licences: every stage's training and held-out corpora
    (train_config.json), then those of the evaluation reports, each once in that order; the paper's corpora
    where nothing is recorded."""
    names = []
    while train_config:
        data = train_config.get("data") or {}
        names += list(data.get("corpora") or []) + list(data.get("held_out_corpora") or [])
        train_config = train_config.get("init_adapter_recipe")
    names += [corpus for report in evaluations for corpus in report["corpora"]]
    if not names:
        from dataset_scripts.corpora import PAPER_CORPORA

        return list(PAPER_CORPORA)
    return list(dict.fromkeys(names))


def render_model_card(
    repo_ids: dict,
    base_model: str,
    evaluations: list[dict],
    train_config: dict | None,
    trained: bool,
    model_config,
    release: dict | None = None,
) -> str:
    """README.md of the model repository.

    Args:
        repo_ids (`dict`): {"model", "corpora", "dbr", "space"}: repository ids.
        base_model (`str`): the backbone's hub id.
        evaluations (`list[dict]`): the reports (`read_evaluation`, each with the "file" it is staged as) to
            show, the first one charted.
        train_config (`dict` or None): the run's train_config.json: the recipe, its training corpora and the gold
            of its type-only rows (`data.type_only_gold`, said in the Limitations).
        trained (`bool`): False for an untrained head (the card warns).
        model_config (`VanerConfig`): the model's config: its form (`one_pass`, described with what a call
            costs), its entity types and the dataset names its instruction knows (`corpus_types`).
        release (`dict` or None): the release.json of a converted release (`vaner convert-release`).

    Returns:
        `str`: the card, YAML front matter first.
    """
    from dataset_scripts.corpora import CORPORA, PAPER_CORPORA

    from .export import CODE_FILES, CUSTOM_PIPELINES
    from .options_vaner import render_call_arguments

    settings = hub_settings()["model"]
    name = repo_ids["model"].split("/")[-1]
    metadata = {
        "license": settings["backbone_licenses"].get(base_model, "other"),
        "base_model": base_model,
        "datasets": [repo_ids["corpora"], repo_ids["dbr"]],
        "language": settings["language"],
        "pipeline_tag": "token-classification",
        "library_name": "transformers",
        "tags": settings["tags"],
    }
    if evaluations:
        metadata["model-index"] = model_index(name, evaluations, repo_ids["corpora"])
    return render(
        settings["template"],
        metadata,
        repo_id=repo_ids["model"],
        corpora_repo=repo_ids["corpora"],
        dbr_repo=repo_ids["dbr"],
        space_repo=repo_ids["space"],
        base_model=base_model,
        dtype=settings["dtype"],
        trained=trained,
        entity_types=list(model_config.entity_types),
        call_arguments=render_call_arguments(),
        code_files=list(CODE_FILES),
        pipeline_tasks=list(CUSTOM_PIPELINES),
        corpora=sorted(model_config.corpus_types),
        corpus_licences=[
            (CORPORA[name].display_name, CORPORA[name].licence)
            for name in card_corpora(train_config, evaluations)
            if name in CORPORA
        ],
        release=release,
        one_pass=model_config.one_pass,
        paper_f1=[(CORPORA[name].display_name, f"{CORPORA[name].paper_f1:.2f}") for name in PAPER_CORPORA],
        license=settings["backbone_licenses"].get(base_model),
        evaluations=[evaluation_table(evaluation) for evaluation in evaluations],
        chart=settings["chart"],
        recipe=recipe_stages(train_config, settings["recipe_fields"]) if train_config else None,
        # runs from before `type_only_gold` existed trained their type-only rows on each corpus's gold
        type_only_gold=((train_config or {}).get("data") or {}).get("type_only_gold", "corpus"),
    )


def render_space_card(repo_ids: dict, screenshot: str) -> str:
    """README.md of the Space: the Space YAML (sdk, app_file, ...) and a short description."""
    settings = hub_settings()["space"]
    metadata = {
        key: settings[key]
        for key in ("title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file", "license")
    }
    metadata |= {
        "short_description": settings["short_description"],
        "models": [repo_ids["model"]],
        "datasets": [repo_ids["corpora"]],
        "pinned": False,
    }
    return render(
        settings["template"],
        metadata,
        title=settings["title"],
        model_repo=repo_ids["model"],
        model_file=settings["model_file"],
        screenshot=screenshot,
        sdk_version=settings["sdk_version"],
    )
