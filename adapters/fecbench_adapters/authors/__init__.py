"""Adapters for models that run only through their authors' own code (VideoLLaMA2, VideoChat2, PLLaVA...).

One module per model, each importing its authors' package only when the adapter is constructed;
:mod:`.base` holds what they share. They are registered (descriptions only) in
``fecbench_adapters.specs_authors``.
"""
