"""`vaner stage` and `vaner push`: the Hub repository folders, and their upload (`modeling_vaner.hub`)."""

from ..dbr import DBR_VARIANTS
from ..hub import DEFAULT_STAGE_DIR
from .options import add_corpora_dir_option, add_model_option


def register(subparsers) -> None:
    stage_parser = subparsers.add_parser("stage", help="build the Hub repository folders (model, datasets, Space)")
    stage_parser.add_argument("--out", default=DEFAULT_STAGE_DIR, help=f"output folder (default: {DEFAULT_STAGE_DIR})")
    stage_parser.add_argument("--namespace", required=True, help="Hub user or organisation the repositories go to")
    add_model_option(stage_parser)
    stage_parser.add_argument("--name", help="model repository name (default from hub_card/hub.yaml)")
    stage_parser.add_argument("--base-model", help="hub id of the model's backbone, for the card (needed with --model)")
    stage_parser.add_argument(
        "--evaluation", help="evaluation JSON (default: the evaluation.json inside the model folder)"
    )
    stage_parser.add_argument("--train-config", help="train_config.json (default: the one inside the model folder)")
    stage_parser.add_argument(
        "--allow-untrained", action="store_true", help="stage a model with an untrained head (push refuses it)"
    )
    stage_parser.add_argument("--corpus", action="append", help="a corpus of the dataset repositories (default: all)")
    add_corpora_dir_option(stage_parser)
    stage_parser.add_argument("--dbr-variant", default="dbr", choices=DBR_VARIANTS)
    stage_parser.add_argument("--dbr-limit", type=int, help="corpus sentences per corpus in vaner-dbr (default: all)")
    for part in ("model", "datasets", "space"):
        stage_parser.add_argument(f"--skip-{part}", action="store_true", help=f"do not stage the {part}")
    stage_parser.set_defaults(func=run_stage)

    push_parser = subparsers.add_parser("push", help="create the staged repositories on the Hub and upload them")
    push_parser.add_argument("--namespace", required=True, help="Hub user or organisation (as staged)")
    push_parser.add_argument(
        "--staged", default=DEFAULT_STAGE_DIR, help=f"staged folder (default: {DEFAULT_STAGE_DIR})"
    )
    push_parser.add_argument("--private", action="store_true", help="create private repositories")
    push_parser.add_argument("--dry-run", action="store_true", help="list the files and sizes; upload nothing")
    push_parser.set_defaults(func=run_push)


def run_stage(args) -> int:
    from ..hub import dry_run_listing, stage

    parts = [
        part
        for part, skip in (
            ("model", args.skip_model),
            ("corpora", args.skip_datasets),
            ("dbr", args.skip_datasets),
            ("space", args.skip_space),
        )
        if not skip
    ]
    manifest = stage(
        args.out,
        args.namespace,
        model=args.model,
        name=args.name,
        base_model=args.base_model,
        evaluation=args.evaluation,
        train_config=args.train_config,
        allow_untrained=args.allow_untrained,
        corpora=args.corpus,
        corpora_dir=args.corpora_dir,
        dbr_variant=args.dbr_variant,
        dbr_limit=args.dbr_limit,
        parts=parts,
    )
    print(dry_run_listing(args.out, manifest))
    return 0


def run_push(args) -> int:
    from ..hub import push

    push(args.staged, args.namespace, private=args.private, dry_run=args.dry_run)
    return 0
