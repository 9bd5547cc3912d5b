"""`vaner export-onnx OUT.onnx`: the model's forward as an ONNX file (`modeling_vaner.onnx_export`)."""

from pathlib import Path

from .options import add_model_option, add_overwrite_option


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-onnx",
        help="write the model's forward as ONNX for ONNX Runtime (fp32, or int8 linear layers)",
        description="Export the model's forward (input_ids, attention_mask -> logits) to OUT.onnx for ONNX Runtime; "
        "run it with `vaner extract|evaluate|annotate --onnx OUT.onnx` (same --model).",
    )
    parser.add_argument("output", type=Path, metavar="OUT.onnx", help="the .onnx file to write")
    add_model_option(parser)
    parser.add_argument(
        "--int8", action="store_true", help="int8 weights and dynamically quantized activations in the linear layers"
    )
    add_overwrite_option(parser, "OUT.onnx")
    parser.set_defaults(func=run_export_onnx)


def run_export_onnx(args) -> int:
    from ..onnx_export import export_model_onnx

    output = export_model_onnx(args.model, args.output, int8=args.int8, overwrite=args.overwrite)
    precision = "int8 linear layers" if args.int8 else "fp32"
    print(f"vaner export-onnx: wrote {output} ({precision}, {output.stat().st_size / 2**20:,.1f} MiB)")
    return 0
