"""Running a model's adapter in a Python environment of its own (``fecbench run --model-env PATH``).

The driver (this process) keeps everything it does in-process: planning, decoding, batching, the run
store, scoring. Only the adapter runs in the other interpreter, as ``PATH/bin/python -m
fecbench.worker``; :class:`fecbench.model_env.proxy.WorkerAdapter` stands in for it here. The two
exchange length-prefixed JSON messages over the worker's stdin/stdout (:mod:`.protocol`); decoded
frames travel through shared memory, never through the disk. See docs/model-env.md.

:mod:`.protocol` is imported by the worker too, so it needs nothing but the standard library and
numpy; the driver-side modules (:mod:`.process`, :mod:`.proxy`, :mod:`.recipe`) are never imported there.
"""
