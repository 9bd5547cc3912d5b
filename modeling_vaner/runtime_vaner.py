"""VANER runtime backends: the precision a forward runs in (native bf16 detection, bf16, fp32, torchao int8), the
ONNX Runtime forward, padded batches and the C heap's freed memory.

Self-contained (torch and transformers; torchao and onnxruntime imported only when asked for) so that it is
copied to a Hub repository beside the pipeline, which imports it.
"""

import ctypes
import functools
import hashlib
import json
import os
import warnings
from typing import NamedTuple

import torch
from transformers.modeling_outputs import TokenClassifierOutput

from .options_vaner import PRECISIONS, check_choice

# Forces what precision "auto" means, whatever the hardware: "bf16" or "fp32" (e.g. to run a test suite in bf16 on a
# CPU that only emulates it).
PRECISION_ENV = "VANER_PRECISION"
# torch's CPU feature probes are private: a torch that renames them must not break every Hub user at construction.
CPU_BF16_PROBES = {"amx": "_is_amx_tile_supported", "avx512_bf16": "_is_avx512_bf16_supported"}


def cpu_bf16_kind() -> str:
    """What this CPU offers for bf16, which decides the arithmetic behind a score and what precision "auto" picks:
    "amx", "avx512_bf16", "no native bf16", or "unknown" where this torch lacks the probes. oneDNN also runs bf16
    on plain AVX-512 (`_is_mkldnn_bf16_supported` is true there), but emulated, several times slower than fp32:
    that counts as "no native bf16"."""
    if not torch.backends.mkldnn.is_available():
        return "no native bf16"
    probes = {kind: getattr(torch.cpu, name, None) for kind, name in CPU_BF16_PROBES.items()}
    if None in probes.values():
        return "unknown"
    return next((kind for kind, probe in probes.items() if probe()), "no native bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively: an AMX or AVX512_BF16 CPU (`cpu_bf16_kind`), a GPU with bf16.
    Where this torch lacks the CPU probes, False (fp32) with a warning."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    kind = cpu_bf16_kind()
    if kind == "unknown":
        probes = " / ".join(CPU_BF16_PROBES.values())
        warnings.warn(f"this torch has no {probes}: precision 'auto' runs fp32", stacklevel=2)
    return kind in CPU_BF16_PROBES


class Precision(NamedTuple):
    """A resolved precision: its `name` ("bf16", "fp32" or "int8"), the dtype the weights are held in, and
    whether the forward runs under bf16 autocast."""

    name: str
    weight_dtype: torch.dtype
    autocast: bool


RESOLVED_PRECISIONS = {
    "bf16": Precision("bf16", torch.bfloat16, True),
    "fp32": Precision("fp32", torch.float32, False),
    "int8": Precision("int8", torch.float32, False),  # fp32 weights, then the linear layers quantized
}


def resolve_precision(precision: str, device: torch.device) -> Precision:
    """What `precision` means on `device`: itself, or for "auto" the value of `$VANER_PRECISION` when set, else
    "bf16" where `device` computes bf16 natively (`native_bf16`), else "fp32". The one resolver of the
    package: `load_pipeline` loads the weights in its dtype, the pipeline casts a float32 model it is given to it.

    Args:
        precision: one of `PRECISIONS`.
        device: where the forward runs.

    Returns:
        `Precision`: name, weight dtype, autocast.

    Raises:
        ValueError: `precision` or `$VANER_PRECISION` is not a known precision.
    """
    if check_choice("precision", precision, PRECISIONS) == "auto":
        forced = os.environ.get(PRECISION_ENV)
        if forced and forced not in ("bf16", "fp32"):
            raise ValueError(f"${PRECISION_ENV} must be bf16 or fp32, got {forced!r}")
        precision = forced or ("bf16" if native_bf16(device) else "fp32")
    return RESOLVED_PRECISIONS[precision]


def resolve_device(device):
    """`device` checked before anything is moved there: torch itself answers a CUDA device on a CPU-only build with
    an AssertionError from deep inside `.to()`.

    Args:
        device: what the pipeline takes (None: its default; a name such as "cpu", "cuda", "cuda:1"; an index, -1
            being the CPU; a `torch.device`), or "auto": "cuda" where torch sees a CUDA GPU, else "cpu".

    Returns:
        `device`, or for "auto" or a negative index the device it stands for.

    Raises:
        ValueError: a device that does not exist or that this machine's torch cannot reach, in one line (e.g.
            "device 'cuda': CUDA is not available (torch 2.13.0+cpu is a CPU-only build)").
    """
    if device is None:
        return None
    if isinstance(device, int) and device < 0:  # transformers' spelling of the CPU, which torch.device refuses
        return "cpu"
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device)
    except (RuntimeError, TypeError) as error:  # an unknown name; an index with no accelerator
        raise ValueError(f"device {device!r}: {str(error).splitlines()[0]}") from None
    if kind.type == "cuda" and not torch.cuda.is_available():
        reason = (
            f"torch {torch.__version__} is a CPU-only build" if torch.version.cuda is None else "no CUDA GPU is visible"
        )
        raise ValueError(f"device {device!r}: CUDA is not available ({reason})")
    if kind.type == "cuda" and (kind.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: torch sees {torch.cuda.device_count()} CUDA device(s)")
    return device


def quantize_int8(model) -> None:
    """Quantize the linear layers of `model`'s backbone in place to int8 weights (per output channel) with int8
    activations quantized per token at run time (torchao's `Int8DynamicActivationInt8WeightConfig`); the
    classification head keeps its dtype. A model already quantized is left as it is.

    Raises:
        ImportError: torchao is not installed.
    """
    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8Tensor, quantize_
    except ImportError as error:
        raise ImportError("precision 'int8' needs torchao: pip install torchao==0.18.0") from error
    linear_layers = [module for module in model.base_model.modules() if isinstance(module, torch.nn.Linear)]
    if not any(isinstance(layer.weight, Int8Tensor) for layer in linear_layers):
        quantize_(model.base_model, Int8DynamicActivationInt8WeightConfig())


def apply_precision(model, precision: Precision) -> None:
    """Bring `model`'s weights to `precision` in place: int8 quantizes the backbone's linear layers, bf16 casts a
    float32 model to bf16 (what `load_pipeline` loads directly); fp32 leaves the model as it is (a model being
    trained keeps its dtypes, and the caller's own autocast applies)."""
    if precision.name == "int8":
        quantize_int8(model)
    elif precision.weight_dtype == torch.bfloat16 and model.dtype == torch.float32:
        model.to(torch.bfloat16)


@functools.cache
def _malloc_trim():
    """glibc's `malloc_trim`, or None where the C library has none (macOS, Windows, musl)."""
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc's `malloc_trim(0)`; nothing where there is none).
    Batches of ever new shapes leave freed blocks that glibc keeps for reuse but rarely can reuse: without this, a
    streamed collection's resident memory grew with its length (bf16 on an AMX CPU, one BC2GM sentence per
    document: +193 MB from 256 to 2,560 documents; with this after each chunk, flat)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def pad_sequences(sequences: list[list[int]], pad_value: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad sequences to the longest (the pipeline's batches and the training collator alike).

    Args:
        sequences: `batch` non-empty lists of ints (token ids or labels) or of equal-length lists of ints (a
            one-pass model's labels: per token, one per head), at least one.
        pad_value: the value after each sequence's end.

    Returns:
        `(padded, mask)`: long tensors of shape (batch, longest, ...) (the inner lists' length, if any) and (batch,
        longest); `mask` is 1 on the sequences' own positions.
    """
    tensors = [torch.tensor(sequence, dtype=torch.long) for sequence in sequences]
    width = max(len(tensor) for tensor in tensors)
    padded = torch.full((len(tensors), width, *tensors[0].shape[1:]), pad_value, dtype=torch.long)
    mask = torch.zeros((len(tensors), width), dtype=torch.long)
    for index, tensor in enumerate(tensors):
        padded[index, : len(tensor)] = tensor
        mask[index, : len(tensor)] = 1
    return padded, mask


def left_pad_visible(sequences: list[list[int]], pad_id: int, width: int) -> tuple[torch.Tensor, list[int]]:
    """The authors' released inference (`padding="visible"`): rows left-padded to at least `width` tokens with
    `pad_id`, the padding attended like text.

    Args:
        sequences: `batch` lists of token ids, at least one.
        pad_id: the padding token (the authors used the unknown token).
        width: the least padded width (`config.max_window_tokens`).

    Returns:
        `(input_ids, offsets)`: a long tensor of shape (batch, max(width, longest)), and per row the position of
        its first token.
    """
    width = max(width, *map(len, sequences))
    offsets = [width - len(sequence) for sequence in sequences]
    input_ids = torch.tensor([[pad_id] * offset + sequence for offset, sequence in zip(offsets, sequences)])
    return input_ids, offsets


# The config fields an exported ONNX file must share with the model that runs it (with its head's weights)
ONNX_CONFIG_FIELDS = (
    "model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_labels", "entity_types", "one_pass"
)
# What a file exported before a field joined ONNX_CONFIG_FIELDS had: every such file is a per-type model's.
ONNX_FIELDS_BEFORE = {"one_pass": False}


def model_fingerprint(model) -> dict:
    """What ties an ONNX file to the model it was exported from (stored in the file, checked when it is loaded):
    the config's `ONNX_CONFIG_FIELDS` and a SHA-256 of the classification head's weights in fp32, which tells
    apart two adapters of one backbone (same config, other weights)."""
    head = model.score.weight.detach().float().cpu().contiguous().numpy().tobytes()
    fields = {name: getattr(model.config, name, None) for name in ONNX_CONFIG_FIELDS}
    return json.loads(json.dumps({**fields, "head_sha256": hashlib.sha256(head).hexdigest()}))


class OnnxRuntimeForward:
    """A file written by `vaner export-onnx`, run on the CPU by ONNX Runtime and called like the torch model:
    `forward(input_ids=..., attention_mask=...)` (batch, tokens) returns an object whose `logits` is a float32
    tensor shaped as the model's: (batch, tokens, labels), or (batch, tokens, types, labels) for a one-pass model.

    Raises:
        ImportError: onnxruntime is not installed.
        FileNotFoundError: no file at `path`.
        ValueError: not a file ONNX Runtime can load, or exported from another model than `model` (another
            form, per-type or one-pass, too).
    """

    def __init__(self, path, model):
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError('an ONNX model needs onnxruntime: pip install "vaner[onnx]"') from error
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such ONNX file: {path}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # torch's setting (OMP_NUM_THREADS) rules both
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's own exception types (InvalidProtobuf, Fail...)
            raise ValueError(f"{path}: ONNX Runtime cannot load it: {error}") from error
        metadata = self.session.get_modelmeta().custom_metadata_map.get("vaner_model", "{}")
        exported = {**ONNX_FIELDS_BEFORE, **json.loads(metadata)}  # the fields an older file predates, as they were
        expected = model_fingerprint(model)
        differing = sorted(key for key in expected.keys() | exported.keys() if exported.get(key) != expected.get(key))
        if differing:
            raise ValueError(
                f"{path} was not exported from this model (they differ in {', '.join(differing)}): "
                "export it with `vaner export-onnx` and the same --model"
            )

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        feeds = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()}
        return TokenClassifierOutput(logits=torch.from_numpy(self.session.run(["logits"], feeds)[0]))
