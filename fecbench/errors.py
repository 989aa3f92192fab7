"""User-facing errors: each one says what is wrong and where (file, record, field, option).

The CLI prints the message of a :class:`FecbenchError` without a traceback and exits with
``exit_code``; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class FecbenchError(Exception):
    """An error the user can act on."""

    exit_code = 2


class AnnotationError(FecbenchError):
    """Malformed annotations file: the message names the file, the record (index and id) and the field."""


class ConfigError(FecbenchError):
    """A bad option, model argument or run folder."""


class UnknownPluginError(ConfigError):
    """A name that no installed plugin registers."""


class MissingDependencyError(FecbenchError):
    """An optional dependency is not installed; the message carries the pip command that fixes it."""


class VideoError(FecbenchError):
    """A clip that cannot be decoded; recorded per clip, never fatal to a run."""


class ModelWorkerError(FecbenchError):
    """The model's worker process (``--model-env``) cannot go on: it did not start, or keeps dying.

    Unlike a clip's failure, it stops the run; finished clips are kept and the same command resumes.
    """
