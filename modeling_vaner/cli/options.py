"""The options that several `vaner` commands share: one function per option, its help written once here.

Every function takes an `argparse` parser (or argument group) and adds one option; `add_tagger_options` adds the
set that every command loading a tagger takes, and `pipeline_arguments` turns them back into `load_pipeline`'s
keyword arguments, so that a new tagger option is one function here, one line in each of those two. Nothing here
imports torch or transformers: building the parser must stay instant.
"""

import argparse
from pathlib import Path

from dataset_scripts.corpora import CORPORA_DIR_HELP

from ..options_vaner import DEFAULT_BATCH_SIZE, DEVICES, PRECISIONS


def add_model_option(parser) -> None:
    """`--model`: the model every command that loads one takes."""
    parser.add_argument("--model", help="model folder, adapter folder or hub id (default: the embedded vaner-smol)")


def add_precision_option(parser) -> None:
    """`--precision`: the arithmetic of the forward (`options_vaner.PRECISIONS`)."""
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto: bf16 where the hardware computes it natively, else fp32; int8: int8 linear layers (torchao); "
        "default auto",
    )


def add_batch_size_option(parser) -> None:
    """`--batch-size`: rows per forward, `options_vaner.DEFAULT_BATCH_SIZE` by default for every command."""
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"rows (one window of one sentence for one type) per forward (default {DEFAULT_BATCH_SIZE})",
    )


def add_compile_option(parser) -> None:
    """`--compile`: torch.compile the forward."""
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the forward: minutes once, then ~1.3x faster (pays off on large inputs only)",
    )


def add_onnx_option(parser) -> None:
    """`--onnx FILE`: run a `vaner export-onnx` file in ONNX Runtime."""
    parser.add_argument(
        "--onnx",
        type=Path,
        metavar="FILE",
        help="run this `vaner export-onnx` file (from the same --model) in ONNX Runtime instead of PyTorch",
    )


def add_corpora_dir_option(parser) -> None:
    """`--corpora-dir`: `main` resolves it once (flag, else $VANER_CORPORA_DIR) before the command runs."""
    parser.add_argument("--corpora-dir", help=CORPORA_DIR_HELP)


def add_types_option(parser) -> None:
    """`--types`: the entity types a tagging command asks for."""
    parser.add_argument(
        "--types", nargs="+", metavar="TYPE", help="entity types to ask for (default: all the model's types)"
    )


def add_dataset_option(parser) -> None:
    """`--dataset`: the corpus name in a tagging command's instruction."""
    parser.add_argument("--dataset", help="corpus name for the instruction (default: the type-only instruction)")


def add_overwrite_option(parser, target: str) -> None:
    """`--overwrite`: replace the command's output file `target` (as its help names it) if it exists."""
    parser.add_argument("--overwrite", action="store_true", help=f"replace {target} if it exists")


def positive_int(text: str) -> int:
    """`text` as a positive integer, for argparse's `type=`.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def add_threads_option(parser) -> None:
    """`--threads N`: the forward's intra-op threads; `main` applies it before the command loads torch's work."""
    parser.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help="threads of the forward (default: one per core; idle threads sleep, so a busy machine slows the run "
        "without stalling it: benchmarks/threads.py)",
    )


def add_strict_types_option(parser) -> None:
    """`--strict-types`: a type the model was not trained on (`config.entity_types`) is an error, not a warning."""
    parser.add_argument(
        "--strict-types",
        action="store_true",
        help="a type the model was not trained on is an error (default: tagged, with a warning naming the trained "
        "types)",
    )


def add_device_option(parser) -> None:
    """`--device`: where the forward runs (`options_vaner.DEVICES`)."""
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the forward runs; auto: the GPU where torch sees one (CUDA), else the CPU; default auto",
    )


def add_verbose_option(parser) -> None:
    """`--verbose`: the libraries' own output while a model loads (`backbone.quiet_loading`)."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show what the libraries print while the model loads (weight-loading bars, load reports, notices)",
    )


def add_linking_dir_options(parser) -> None:
    """`--kb-dir`, `--linking-dir`, `--link-dictionary`: where the concept linker's dictionaries are
    (`modeling_vaner.linking.sources`)."""
    parser.add_argument(
        "--kb-dir",
        help="the knowledge-base dictionaries (default: $VANER_KB_DIR, else <corpora dir>/kb)",
    )
    parser.add_argument(
        "--linking-dir",
        help="the linking data directory: MeSH, train-split mentions (default: $VANER_LINKING_DIR; "
        "dataset_scripts/linking_data.py builds it)",
    )
    parser.add_argument(
        "--link-dictionary",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="your own dictionaries: name<TAB>type<TAB>identifier lines (their names rank first)",
    )


def add_link_options(parser) -> None:
    """`--link` and where its dictionaries are (`add_linking_dir_options`)."""
    parser.add_argument(
        "--link",
        action="store_true",
        help="give each entity a concept identifier (MESH:..., NCBIGene:..., NCBITaxon:...) and its score, or "
        "none where no dictionary name is close enough",
    )
    add_linking_dir_options(parser)


def load_linker_from(args):
    """The concept linker of `--link` (None without it), its dictionaries where the options say.

    Raises:
        FileNotFoundError: a directory or dictionary given does not exist.
    """
    if not getattr(args, "link", False):
        return None
    from ..linking import load_linker

    return load_linker(
        kb_dir=args.kb_dir,
        linking_dir=args.linking_dir,
        corpora_dir=getattr(args, "corpora_dir", None),
        user_files=args.link_dictionary or (),
    )


def add_tagger_options(parser, *, compile: bool = True) -> None:
    """The options of the commands that load a tagger (extract, annotate, evaluate): --model, --precision,
    --batch-size, --compile (where the command offers it), --onnx, --threads, --strict-types, --device and
    --verbose."""
    add_model_option(parser)
    add_precision_option(parser)
    add_batch_size_option(parser)
    if compile:
        add_compile_option(parser)
    add_onnx_option(parser)
    add_threads_option(parser)
    add_strict_types_option(parser)
    add_device_option(parser)
    add_verbose_option(parser)


def pipeline_arguments(args) -> dict:
    """`load_pipeline`'s keyword arguments from the options `add_tagger_options` added to `args`."""
    return {
        "model": args.model,
        "precision": args.precision,
        "batch_size": args.batch_size,
        "compile": getattr(args, "compile", False),
        "onnx_model": args.onnx,
        "strict_types": args.strict_types,
        "device": args.device,
        "verbose": args.verbose,
    }
