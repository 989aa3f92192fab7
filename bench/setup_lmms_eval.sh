#!/usr/bin/env bash
# Build a venv with lmms-eval 0.7.3 for bench/vs_lmms_eval.py (its pins clash with fecbench's, so it lives apart).
# torch and torchvision are the releases on this machine's disk (pip's constraint file caps them there);
# filelock<4 because lmms-eval 0.7.3 imports filelock._api, gone in filelock 4.
# usage: bash bench/setup_lmms_eval.sh VENV
set -euo pipefail
venv=${1:?usage: setup_lmms_eval.sh VENV}
pins=$(mktemp)
printf 'torch==2.14.1\ntorchvision==0.29.1\nfilelock<4\n' > "$pins"
python3 -m venv "$venv"
"$venv/bin/pip" install -q -U pip
"$venv/bin/pip" install -q -c "$pins" torch==2.14.1 torchvision==0.29.1
"$venv/bin/pip" install -q -c "$pins" lmms-eval==0.7.3 transformers==5.24.0 'av<16' decord 'filelock<4'
"$venv/bin/python" -c "import lmms_eval, qwen_vl_utils, transformers; print('lmms-eval ready, transformers', transformers.__version__)"
