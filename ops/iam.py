"""IAM's evaluation of identity policies, for the checks of what the functions may do.

Only what the functions' policies use: Allow and Deny statements with Action or NotAction and
Resource or NotResource, matched as IAM matches them (`*` any run of characters, `?` any one;
actions without regard to case, resources with it). A policy with a Condition is refused
rather than guessed at: no function's policy needs one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=4096)
def _pattern(wildcard: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in wildcard)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def matches(wildcard: str, value: str, *, ignore_case: bool = False) -> bool:
    return _pattern(wildcard, ignore_case).match(value) is not None


def _values(statement: dict[str, Any], key: str) -> list[str]:
    value = statement[key]
    return [value] if isinstance(value, str) else list(value)


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Condition" in statement:
        raise ValueError(f"statement {statement.get('Sid', '?')}: conditions are not evaluated here")
    if "Action" in statement:
        action_ok = any(matches(p, action, ignore_case=True) for p in _values(statement, "Action"))
    else:
        action_ok = not any(matches(p, action, ignore_case=True) for p in _values(statement, "NotAction"))
    if not action_ok:
        return False
    if "Resource" in statement:
        return any(matches(p, resource) for p in _values(statement, "Resource"))
    return not any(matches(p, resource) for p in _values(statement, "NotResource"))


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy["Statement"]
    return [found] if isinstance(found, dict) else list(found)


def allowed(policies: Iterable[dict[str, Any]], action: str, resource: str) -> bool:
    """An explicit Deny wins; else some Allow must apply (IAM's default is deny)."""
    allow = False
    for policy in policies:
        for statement in statements(policy):
            if _applies(statement, action, resource):
                if statement["Effect"] == "Deny":
                    return False
                allow = True
    return allow


def grants(policies: Iterable[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Every (statement id, action, resource) an Allow names, to find the ones nothing uses."""
    out = []
    for policy in policies:
        for statement in statements(policy):
            if statement["Effect"] != "Allow" or "Action" not in statement or "Resource" not in statement:
                continue
            for action in _values(statement, "Action"):
                for resource in _values(statement, "Resource"):
                    out.append((str(statement.get("Sid", "")), action, resource))
    return out
