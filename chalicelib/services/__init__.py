"""Use cases: no HTTP and no key shapes."""
