"""What a fresh Python interpreter has imported after running some code.

fecbench promises that importing it, listing models or judges and ``--help`` never load torch,
transformers, vllm, cv2...; the test process has long imported them, so each such check runs its
code in a new interpreter and asks that interpreter's ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence


def imported_by(code: str, modules: Sequence[str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported once ``code`` ran (the code must succeed).

    The check itself imports ``json`` and ``sys``: ask about heavier modules than those.
    """
    names = list(modules)
    check = f"import json, sys\nprint(json.dumps([m for m in {names!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", f"{code}\n{check}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
