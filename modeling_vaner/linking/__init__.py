"""Concept identifiers for entities (entity linking, offline): diseases -> MeSH/OMIM (CTD MEDIC), chemicals -> MeSH
(2024 descriptors, supplementary concepts with a pharmacological action, DrugBank), genes -> NCBI Gene (human genes
only: a gene of another species gets the human gene whose name it shares, or nothing), species -> NCBI Taxonomy.

    from modeling_vaner.linking import load_linker

    linker = load_linker()   # the shipped bundle (+ $VANER_KB_DIR, $VANER_LINKING_DIR), built once, cached
    linker.link(["BRCA1"], "Gene")   # [[('NCBIGene:672', 1.0)]]

`text.py`: normalisation and abbreviations; `sources.py`: sources per type; `dictionaries.py`: a type's names,
keyed; `bundle.py`: the sources shipped in the package (`bundle/`); `linker.py`: the method;
`corpora.py`: gold mentions and splits; `evaluation.py`: accuracy@k (`vaner evaluate-linking`); `tasks.py`: the
evaluation's task names (light: the command line reads them). Importing this package loads nothing heavy: the
names below are imported on first use.
"""

import importlib

_EXPORTS = {
    "Linker": "linker", "load_linker": "linker", "DEFAULT_THRESHOLDS": "linker", "curie": "corpora",
    "DEFAULT_SOURCES": "sources", "LINKING_SOURCES": "sources",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
