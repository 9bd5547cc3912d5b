"""`vaner install-adapter` and `vaner average-adapters`: adapter folders (`modeling_vaner.adapter`)."""

from pathlib import Path

from ..adapter import ADAPTER_DTYPES


def register(subparsers) -> None:
    install = subparsers.add_parser(
        "install-adapter", help="copy a trained adapter into modeling_vaner/weights/vaner-smol (the default model)"
    )
    install.add_argument("adapter_dir", type=Path, help="an adapter folder, e.g. runs/vaner-smol/adapter")
    install.add_argument("--dest", type=Path, help="target folder (default: the package's vaner-smol folder)")
    install.add_argument("--dtype", choices=ADAPTER_DTYPES, help="cast weights (default: bfloat16 only if > 20 MB)")
    install.set_defaults(func=run_install)

    average = subparsers.add_parser(
        "average-adapters", help="average adapters of one recipe (e.g. several seeds) into one adapter of the same rank"
    )
    average.add_argument("output_dir", type=Path, help="folder for the averaged adapter")
    average.add_argument(
        "adapter_dirs", type=Path, nargs="+", metavar="ADAPTER_DIR", help="two or more adapter folders"
    )
    average.set_defaults(func=run_average)


def run_average(args) -> int:
    from ..adapter import average_adapters

    record = average_adapters(args.adapter_dirs, args.output_dir)
    print(f"{args.output_dir}\tkept energy at rank r: {record['kept_energy']:.4f} (worst module)")
    return 0


def run_install(args) -> int:
    from ..adapter import ADAPTER_WEIGHTS, install_adapter

    dest = install_adapter(args.adapter_dir, args.dest, args.dtype)
    size = (dest / ADAPTER_WEIGHTS).stat().st_size
    print(f"{dest}\t{size / 1e6:.1f} MB")
    return 0
