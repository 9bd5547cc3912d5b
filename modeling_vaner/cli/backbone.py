"""`vaner backbone`: convert the embedded SmolLM2-135M GGUF into a cached HF folder (`modeling_vaner.backbone`)."""

import time


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "backbone", help="convert the embedded SmolLM2-135M GGUF into a cached HF folder (once)"
    )
    parser.add_argument("--force", action="store_true", help="convert again even if the folder exists")
    parser.set_defaults(func=run_backbone)


def run_backbone(args) -> int:
    from ..backbone import convert_embedded_backbone, embedded_backbone_dir

    started = time.perf_counter()
    existed = (embedded_backbone_dir() / "config.json").is_file() and not args.force
    folder = convert_embedded_backbone(force=args.force)
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    action = "already converted" if existed else f"converted in {time.perf_counter() - started:.1f} s"
    print(f"{folder}\t{size / 2**20:.0f} MiB\t{action}")
    return 0
