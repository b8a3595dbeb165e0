"""Storage: the only package that knows table keys, indexes and bucket layouts."""
