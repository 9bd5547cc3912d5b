"""`vaner plot-log RUN_DIR`: the loss and dev F1 curves of a `vaner train` run (`modeling_vaner.run_log`)."""

from pathlib import Path

from ..adapter import PLOT_FILE


def register(subparsers) -> None:
    plot = subparsers.add_parser("plot-log", help="plot loss and dev F1 curves of a `vaner train` run (PNG)")
    plot.add_argument("run_dir", type=Path)
    plot.add_argument("--output", type=Path, help=f"PNG path (default: RUN_DIR/{PLOT_FILE})")
    plot.set_defaults(func=run_plot)


def run_plot(args) -> int:
    from ..run_log import plot_log

    print(plot_log(args.run_dir, args.output))
    return 0
