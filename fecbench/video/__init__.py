"""Video: one frame-sampling protocol, decoding with PyAV, and an on-disk cache of sampled frames."""
