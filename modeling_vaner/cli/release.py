"""`vaner convert-release`: the authors' released checkpoint as a Hub-ready VANER folder (`modeling_vaner.release`)."""

from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert-release", help="convert the authors' released VANER checkpoint into a Hub-ready VANER folder"
    )
    parser.add_argument("release_dir", type=Path, help="the checkpoint folder (adapter_config.json + weights)")
    parser.add_argument("--base", required=True, help="the base: a local Llama folder or meta-llama/Llama-2-7b-hf")
    parser.add_argument("--out", required=True, type=Path, help="the folder to write")
    parser.add_argument("--adapt", action="store_true", help="the VANER_adapt checkpoint (without dataset names)")
    parser.set_defaults(func=run_convert)


def run_convert(args) -> int:
    from ..release import convert_release

    out = convert_release(args.release_dir, args.base, args.out, adapt=args.adapt)
    print(f"{out}\tconverted from {args.release_dir} on {args.base}")
    return 0
