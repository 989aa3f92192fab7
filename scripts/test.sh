#!/usr/bin/env bash
# The README's test command, with pytest's arguments passed through: the pull-request workflow
# (.github/workflows/test.yml) runs `bash scripts/test.sh -m "not slow and not browser"` and
# `bash scripts/test.sh -m "slow or browser"`, and .ci/run runs the README's own line, which is this
# script's with no arguments (tests/test_repo_checks.py keeps the two the same).
set -euo pipefail
cd "$(dirname "$0")/.."
pip install -e '.[test]' && bash scripts/ensure-chromium.sh && pytest "$@"
