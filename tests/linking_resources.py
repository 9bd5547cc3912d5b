"""The tiny synthetic linking resources of the linking tests (tests/resources/linking): knowledge-base and data
directories, and the sentence of issue 32's acceptance. Their fixtures (`tiny_bundle`, `package_bundle`,
`tiny_linker`) are in conftest.py."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent / "resources" / "linking"
TINY_KB, TINY_DATA = RESOURCES / "kb", RESOURCES / "data"
ACCEPTANCE = "Mutations in BRCA1 cause breast cancer in mice treated with tamoxifen."
