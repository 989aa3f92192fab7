"""Running a model over a benchmark: the spec, the resumable store, prefetching, the loop itself."""
