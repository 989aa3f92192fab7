"""An example adapter plugin, packaged as a third party would package one.

fecbench's own tests install this folder with pip and run it through ``fecbench run``; it is also
the worked example of docs/adapters.md. The registration below is all fecbench imports when it
lists models; ``motion.py`` is imported only when a run asks for ``example-motion``.
"""

from __future__ import annotations

from fecbench import AdapterSpec, hookimpl


@hookimpl
def fecbench_register_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            name="example-motion",
            factory="fecbench_example_plugin.motion:MotionAdapter",
            summary="Example plugin: says when the picture moves, from differences between sampled frames.",
            default_checkpoint=None,
            default_frames=6,
            requires=("numpy",),
            install_hint="pip install numpy",
            aliases=("example_motion",),
        )
    ]
