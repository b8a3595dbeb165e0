"""Hypothesis profiles: `ci` (the default) and `deep` (HYPOTHESIS_PROFILE=deep).

`ci` is what `make test` runs: derandomized (the same examples every run, so a run's time and
outcome do not depend on luck) with no example database (nothing from an earlier run changes
what a run tests). `deep` draws new random examples on every run, keeps a local example
database, and runs each property with `DEEP_FACTOR` times the examples (and state machines
with more steps): the search for rare bugs, run on demand.

Tests take their counts from `scaled()` instead of fixing `max_examples` in their own
@settings, so that a test never runs more in CI than the profile allows, nor fewer in `deep`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE_VARIABLE = "HYPOTHESIS_PROFILE"
DEEP_FACTOR = 5


def register() -> None:
    common = {"deadline": None, "print_blob": True, "suppress_health_check": [HealthCheck.too_slow]}
    settings.register_profile("ci", derandomize=True, database=None, **common)  # type: ignore[arg-type]
    settings.register_profile("deep", **common)  # type: ignore[arg-type]
    settings.load_profile(current())


def current() -> str:
    return os.environ.get(PROFILE_VARIABLE, "ci")


def scaled(ci: int, deep: int | None = None) -> int:
    """`ci` examples (or steps) in the ci profile, `deep` (default DEEP_FACTOR x ci) in deep."""
    if current() == "deep":
        return deep if deep is not None else ci * DEEP_FACTOR
    return ci
