"""The ``fecbench`` command: parse options, call :mod:`fecbench.api`, print, choose the exit code.

Exit codes (docs/architecture.md): 0 done; 1 done but some clips failed, a metric could not score some
clips (judge failures) or, for ``data check``, clips are missing, unreadable or refused; 2 the job
could not run (bad option or input, missing dependency or checkpoint, a folder another process holds); 130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from fecbench.cli_data import data_app, demo
from fecbench.cli_env import env_app
from fecbench.cli_judges import judge_app, judges
from fecbench.cli_leaderboard import leaderboard_app
from fecbench.cli_models import models, new_adapter
from fecbench.cli_results import register_results_commands
from fecbench.cli_run import merge, run, score
from fecbench.errors import FecbenchError
from fecbench.terminal import err

app = typer.Typer(
    help="Evaluate video MLLMs on FEC-Bench (facial expression captioning).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")  # fecbench data check (cli_data.py)
app.add_typer(leaderboard_app, name="leaderboard")  # build, check, record, serve (cli_leaderboard.py)
app.add_typer(judge_app, name="judge", no_args_is_help=True)  # fecbench judge check
app.add_typer(env_app, name="env")

# The commands in the order `fecbench --help` lists them.
app.command()(run)  # run, merge, score: cli_run.py
app.command()(merge)
app.command()(score)
app.command()(models)  # models, new-adapter: cli_models.py
app.command("judges")(judges)  # listed beside `models`
app.command("new-adapter")(new_adapter)
app.command()(demo)
register_results_commands(app, leaderboard_app)  # fecbench compare, fecbench leaderboard export


def main() -> None:
    """Entry point: user errors print one clear message (no traceback) and exit non-zero."""
    try:
        app()
    except FecbenchError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(exc.exit_code)
    finally:
        import gc

        # The command is done. Freezing the heap spares the interpreter's last garbage collections,
        # which walk every object torch and transformers created: about 1 s of a model run's exit
        # here. Objects are still released at exit; files are closed and results written by now.
        gc.freeze()


if __name__ == "__main__":
    main()
