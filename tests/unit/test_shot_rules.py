"""The shootings side's pure rules: aggregate push status, product shot status, look status and
the push record transitions (chalicelib/services/shootings.py).

Expectations are written out from the reference and shared/spec/README.md, not computed with
the code under test: the push status priority is the reference's ShotRevisionPublic.push_status
("FAILED > IN_PROGRESS > AWAITING_CONFIRMATION > PENDING > COMPLETED"), the product rule is the
README's ("no shots → NOT_STARTED; any TO_REVIEW → TO_REVIEW; all APPROVED → APPROVED; otherwise
IN_PROGRESS").
"""

from __future__ import annotations

from itertools import chain, combinations, permutations, product
from typing import Any

import pytest

from chalicelib.schemas.enums import ProductShootingStatus, PushStatus, ShootingLookStatus, ShotStatus
from chalicelib.services.shootings import (
    PUSH_TRANSITIONS,
    aggregate_push_status,
    look_status,
    product_shot_status,
    shot_summary,
)

PUSH = ["PENDING", "IN_PROGRESS", "AWAITING_CONFIRMATION", "COMPLETED", "FAILED"]
PRIORITY = ["FAILED", "IN_PROGRESS", "AWAITING_CONFIRMATION", "PENDING", "COMPLETED"]
SHOT = ["PENDING", "GENERATING", "TO_REVIEW", "APPROVED", "REJECTED"]


def records(*statuses: str) -> list[dict[str, Any]]:
    return [{"id": f"r{n}", "push_status": s} for n, s in enumerate(statuses)]


def shots(*statuses: str) -> list[dict[str, Any]]:
    return [{"id": f"s{n}", "status": s} for n, s in enumerate(statuses)]


def subsets(values: list[str]) -> list[tuple[str, ...]]:
    return list(chain.from_iterable(combinations(values, n) for n in range(len(values) + 1)))


def expected_push(present: set[str]) -> str | None:
    return next((s for s in PRIORITY if s in present), None)


# -- aggregate push status -------------------------------------------------------------------


def test_the_enum_values_are_the_readmes() -> None:
    # The tests below enumerate these by name: a value added or renamed must show up here.
    assert sorted(s.value for s in PushStatus) == sorted(PUSH)
    assert sorted(s.value for s in ShotStatus) == sorted(SHOT)
    assert sorted(s.value for s in ProductShootingStatus) == sorted(
        ["NOT_STARTED", "IN_PROGRESS", "TO_REVIEW", "APPROVED"]
    )
    assert sorted(s.value for s in ShootingLookStatus) == sorted(["DRAFT", "READY", "IN_PROGRESS", "COMPLETED"])


@pytest.mark.parametrize("present", subsets(PUSH), ids=lambda s: "+".join(s) or "none")
def test_aggregate_push_status_over_every_subset(present: tuple[str, ...]) -> None:
    assert len(subsets(PUSH)) == 32
    want = expected_push(set(present))
    # In any order, and with duplicates: only the set of statuses present matters.
    for order in (present, tuple(reversed(present)), present + present):
        got = aggregate_push_status(records(*order))
        assert (got.value if got is not None else None) == want, order
        assert got is None or isinstance(got, PushStatus)


def test_aggregate_push_status_hand_picked() -> None:
    assert aggregate_push_status([]) is None
    assert aggregate_push_status(records("COMPLETED")) == PushStatus.COMPLETED
    assert aggregate_push_status(records("COMPLETED", "PENDING")) == PushStatus.PENDING
    assert aggregate_push_status(records("COMPLETED", "COMPLETED", "FAILED")) == PushStatus.FAILED
    assert aggregate_push_status(records("AWAITING_CONFIRMATION", "PENDING")) == PushStatus.AWAITING_CONFIRMATION
    assert aggregate_push_status(records("AWAITING_CONFIRMATION", "IN_PROGRESS")) == PushStatus.IN_PROGRESS
    assert aggregate_push_status(iter(records("PENDING"))) == PushStatus.PENDING


def test_aggregate_push_status_refuses_an_unknown_value() -> None:
    with pytest.raises(ValueError):
        aggregate_push_status(records("DONE"))


# -- product shot status ---------------------------------------------------------------------


def expected_product(statuses: tuple[str, ...]) -> str:
    if not statuses:
        return "NOT_STARTED"
    if "TO_REVIEW" in statuses:
        return "TO_REVIEW"
    if all(s == "APPROVED" for s in statuses):
        return "APPROVED"
    return "IN_PROGRESS"


@pytest.mark.parametrize(
    ("statuses", "want"),
    [
        ((), "NOT_STARTED"),
        (("PENDING",), "IN_PROGRESS"),
        (("GENERATING",), "IN_PROGRESS"),
        (("REJECTED",), "IN_PROGRESS"),
        (("TO_REVIEW",), "TO_REVIEW"),
        (("APPROVED",), "APPROVED"),
        (("APPROVED", "APPROVED", "APPROVED"), "APPROVED"),
        (("APPROVED", "TO_REVIEW"), "TO_REVIEW"),
        (("REJECTED", "TO_REVIEW", "PENDING"), "TO_REVIEW"),
        (("APPROVED", "REJECTED"), "IN_PROGRESS"),
        (("APPROVED", "PENDING"), "IN_PROGRESS"),
        (("APPROVED", "GENERATING"), "IN_PROGRESS"),
        (("PENDING", "GENERATING", "REJECTED"), "IN_PROGRESS"),
        (("PENDING", "PENDING"), "IN_PROGRESS"),
    ],
)
def test_product_shot_status_cases(statuses: tuple[str, ...], want: str) -> None:
    got = product_shot_status(shots(*statuses))
    assert isinstance(got, ProductShootingStatus)
    assert got.value == want


def test_product_shot_status_over_every_sequence_up_to_three_shots() -> None:
    for n in range(4):
        for statuses in product(SHOT, repeat=n):
            assert product_shot_status(shots(*statuses)).value == expected_product(statuses), statuses


# -- look status -----------------------------------------------------------------------------


def expected_look(statuses: tuple[str, ...]) -> str:
    if not statuses:
        return "DRAFT"
    if all(s == "APPROVED" for s in statuses):
        return "COMPLETED"
    if any(s != "PENDING" for s in statuses):
        return "IN_PROGRESS"
    return "READY"


@pytest.mark.parametrize(
    ("statuses", "want"),
    [
        ((), "DRAFT"),
        (("PENDING",), "READY"),
        (("PENDING", "PENDING"), "READY"),
        (("GENERATING",), "IN_PROGRESS"),
        (("TO_REVIEW", "PENDING"), "IN_PROGRESS"),
        (("REJECTED",), "IN_PROGRESS"),
        (("APPROVED", "PENDING"), "IN_PROGRESS"),
        (("APPROVED",), "COMPLETED"),
        (("APPROVED", "APPROVED"), "COMPLETED"),
    ],
)
def test_look_status_cases(statuses: tuple[str, ...], want: str) -> None:
    got = look_status(shots(*statuses))
    assert isinstance(got, ShootingLookStatus)
    assert got.value == want


def test_look_status_over_every_sequence_up_to_three_shots() -> None:
    for n in range(4):
        for statuses in product(SHOT, repeat=n):
            assert look_status(shots(*statuses)).value == expected_look(statuses), statuses


# -- push record transitions -----------------------------------------------------------------

ALLOWED = {
    ("PENDING", "IN_PROGRESS"),
    ("PENDING", "FAILED"),
    ("IN_PROGRESS", "AWAITING_CONFIRMATION"),
    ("IN_PROGRESS", "COMPLETED"),
    ("IN_PROGRESS", "FAILED"),
    ("AWAITING_CONFIRMATION", "COMPLETED"),
    ("AWAITING_CONFIRMATION", "FAILED"),
    # A failed push may be retried.
    ("FAILED", "PENDING"),
}


def test_push_transitions_cover_every_status() -> None:
    assert set(PUSH_TRANSITIONS) == set(PushStatus)
    for targets in PUSH_TRANSITIONS.values():
        assert targets <= set(PushStatus)


@pytest.mark.parametrize(("current", "target"), list(permutations(PUSH, 2)), ids=lambda s: s)
def test_push_transition(current: str, target: str) -> None:
    allowed = PushStatus(target) in PUSH_TRANSITIONS[PushStatus(current)]
    assert allowed == ((current, target) in ALLOWED)


def test_completed_is_terminal_and_nothing_skips_to_completed_from_pending() -> None:
    assert PUSH_TRANSITIONS[PushStatus.COMPLETED] == frozenset()
    assert PushStatus.COMPLETED not in PUSH_TRANSITIONS[PushStatus.PENDING]
    assert PushStatus.COMPLETED not in PUSH_TRANSITIONS[PushStatus.FAILED]
    assert PushStatus.AWAITING_CONFIRMATION not in PUSH_TRANSITIONS[PushStatus.PENDING]
    # No status lists itself: staying put is not a transition.
    for status, targets in PUSH_TRANSITIONS.items():
        assert status not in targets


# -- shot summary ----------------------------------------------------------------------------


def test_shot_summary_takes_the_push_status_of_the_current_revision_only() -> None:
    shot = {
        "id": "s1",
        "shot_type": "front",
        "status": "TO_REVIEW",
        "current_revision_id": "r2",
        "revisions": [
            {"id": "r1", "version": 1, "push_records": records("FAILED")},
            {"id": "r2", "version": 2, "push_records": records("COMPLETED", "PENDING")},
        ],
    }
    assert shot_summary(shot) == {
        "id": "s1",
        "shot_type": "front",
        "status": "TO_REVIEW",
        "current_revision_id": "r2",
        "push_status": "PENDING",
    }
    no_revision: dict[str, Any] = {
        "id": "s2",
        "shot_type": None,
        "status": "PENDING",
        "current_revision_id": None,
        "revisions": [],
    }
    assert shot_summary(no_revision) == {
        "id": "s2",
        "shot_type": None,
        "status": "PENDING",
        "current_revision_id": None,
        "push_status": None,
    }
    no_push = {**shot, "revisions": [{"id": "r2", "version": 1, "push_records": []}]}
    assert shot_summary(no_push)["push_status"] is None
