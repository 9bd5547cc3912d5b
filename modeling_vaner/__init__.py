"""VANER: biomedical NER with a bidirectional LLaMA-family tagger."""

from .configuration_vaner import VanerConfig

__all__ = ["VanerConfig"]
__version__ = "0.1.0"
