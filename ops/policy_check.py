"""Every AWS call the tests recorded, checked against its function's policy in the packaged template.

Run: `python -m ops.policy_check build/sam.json test-results/aws-calls` after `make test`
(which records the calls there, tests/support/aws_calls.py) and `make package`
(build/sam.json); `make template-check` does. It fails when

- a recorded call is not allowed by the policy of the function that made it (action and
  resource, as IAM evaluates them: ops/iam.py), or
- a function's policy grants an (action, resource) that no recorded call of that function used,
  unless ops/policies.py keeps it with a reason (calls AWS makes with the role, not the code).

The tests run against moto with their own names (table, buckets, account); each recorded
resource is renamed to the packaged stage's before it is checked.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from chalicelib import queues
from ops import iam, policies
from ops.template import APP, Names

Call = tuple[str, str, str]  # (function, action, resource ARN)


def load_calls(directory: Path) -> tuple[set[Call], dict[str, str]]:
    """The calls every test process recorded, and the test run's resource names."""
    files = sorted(directory.glob("*.jsonl"))
    names_file = directory / "names.json"
    if not files or not names_file.exists():
        raise SystemExit(f"no recorded AWS calls in {directory}: run `make test` first")
    calls: set[Call] = set()
    for file in files:
        for line in file.read_text().splitlines():
            if line.strip():
                entry = json.loads(line)
                calls.add((entry["function"], entry["action"], entry["resource"]))
    return calls, json.loads(names_file.read_text())


def renamer(test_names: dict[str, str], stage: str) -> list[tuple[re.Pattern[str], str]]:
    """Rewrites of a test run's ARNs into the stage's: table, buckets, queues, secret."""
    names = Names(stage)
    rules = [
        (rf"^(arn:aws:dynamodb:[^:]*:[^:]*:table/){re.escape(test_names['table'])}(/|$)", rf"\g<1>{names.table}\g<2>"),
        (rf"^arn:aws:s3:::{re.escape(test_names['images_bucket'])}(/|$)", rf"arn:aws:s3:::{names.images_bucket}\g<1>"),
        (
            rf"^arn:aws:s3:::{re.escape(test_names['exports_bucket'])}(/|$)",
            rf"arn:aws:s3:::{names.exports_bucket}\g<1>",
        ),
    ]
    for queue, dlq in queues.QUEUES:
        for name in (queue, dlq):
            rules.append((rf"^(arn:aws:sqs:[^:]*:[^:]*:){re.escape(name)}$", rf"\g<1>{names.queue(name)}"))
    if test_names.get("signing_keys_secret"):
        # Secrets Manager adds six characters to a secret's name in its ARN; the tests' secrets
        # are the name with a suffix of their own.
        secret = re.escape(test_names["signing_keys_secret"])
        rules.append(
            (
                rf"^(arn:aws:secretsmanager:[^:]*:[^:]*:secret:){secret}[^:/]*$",
                rf"\g<1>{names.signing_keys_secret}-AbCdEf",
            )
        )
    return [(re.compile(pattern), replacement) for pattern, replacement in rules]


def rename(resource: str, rules: list[tuple[re.Pattern[str], str]]) -> str:
    for pattern, replacement in rules:
        renamed, count = pattern.subn(replacement, resource)
        if count:
            return renamed
    return resource


def function_policies(template: dict[str, Any], stage: str) -> dict[str, list[dict[str, Any]]]:
    """Each function's policy documents in the packaged template, by handler name."""
    resources = template["Resources"]
    prefix = f"{APP}-{stage}-"
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        name = resource["Properties"]["FunctionName"]
        if not isinstance(name, str) or not name.startswith(prefix):
            raise SystemExit(f"function {name!r} is not named {prefix}<handler>: is this the {stage} template?")
        role = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        found[name.removeprefix(prefix)] = [p["PolicyDocument"] for p in resources[role]["Properties"]["Policies"]]
    return found


def template_stage(template: dict[str, Any]) -> str:
    tags = {
        r["Properties"].get("Tags", {}).get("aws-chalice", "")
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    stages = {m.group(1) for tag in tags if (m := re.search(r"stage=([^:]+)", tag))}
    if len(stages) != 1:
        raise SystemExit(f"cannot tell the template's stage from its functions' tags: {sorted(stages)}")
    return stages.pop()


def check(template: dict[str, Any], calls: set[Call], test_names: dict[str, str]) -> tuple[list[str], list[str]]:
    """(failures, report lines)."""
    stage = template_stage(template)
    by_function = function_policies(template, stage)
    rules = renamer(test_names, stage)
    staged = {(function, action, rename(resource, rules)) for function, action, resource in calls}
    failures: list[str] = []
    report: list[str] = []
    for function, action, resource in sorted(staged):
        if function not in by_function:
            failures.append(f"{function}: no such function in the template ({action} on {resource})")
        elif not iam.allowed(by_function[function], action, resource):
            failures.append(f"{function}: {action} on {resource} is not allowed by its policy")
    used: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for function, action, resource in staged:
        used[function].append((action, resource))
    kept = 0
    for function, documents in sorted(by_function.items()):
        reasons = policies.unrecorded_reasons(function, stage)
        for sid, action, resource in iam.grants(documents):
            if any(iam.matches(action, a, ignore_case=True) and iam.matches(resource, r) for a, r in used[function]):
                continue
            reason = reasons.get((action, resource))
            if reason:
                kept += 1
                report.append(f"kept unrecorded: {function} {sid}: {action} on {resource} ({reason})")
            else:
                failures.append(f"{function} {sid}: grants {action} on {resource}, which no recorded call used")
    per_function = Counter(function for function, _, _ in staged)
    shapes = {(f, a, re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "{id}", r)) for f, a, r in staged}
    report.insert(
        0,
        f"stage {stage}: {len(staged)} distinct (function, action, resource) calls recorded "
        f"({len(shapes)} with ids collapsed), by function: {dict(sorted(per_function.items()))}; "
        f"{kept} grants kept without a recorded call",
    )
    return failures, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.policy_check", description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path, help="the packaged template (build/sam.json)")
    parser.add_argument("calls", type=Path, help="the calls the tests recorded (test-results/aws-calls)")
    args = parser.parse_args(argv)
    template = json.loads(args.template.read_text())
    calls, test_names = load_calls(args.calls)
    failures, report = check(template, calls, test_names)
    for line in report:
        print(line)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print(f"policy check: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
