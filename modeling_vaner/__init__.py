"""VANER: biomedical NER with a bidirectional LLaMA-family tagger.

    from modeling_vaner import load_pipeline
    tagger = load_pipeline()          # the embedded vaner-smol, offline, on CPU
    tagger("Mutations in BRCA1 cause breast cancer.")

Attributes load lazily, so that the `vaner` command answers `--help` without importing torch.
"""

import importlib

from .options_vaner import drop_import_noise

drop_import_noise()  # torchao's two start-up warnings on a CPU-only torch: before anything imports transformers' models

__version__ = "0.1.0"
_EXPORTS = {
    "VanerConfig": "configuration_vaner",
    "VanerForTokenClassification": "modeling_vaner",
    "VanerModel": "modeling_vaner",
    "VanerTokenClassificationPipeline": "pipeline_vaner",
    "build_vaner_model": "backbone",
    "load_pipeline": "loading",
    "load_vaner": "loading",
    "save_vaner_folder": "export",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'modeling_vaner' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
