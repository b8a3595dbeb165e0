"""ops/iam.py evaluates policies as IAM does; ops/policy_check.py holds the recorded calls to them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib import queues
from ops import iam, policies, policy_check
from ops.template import Names
from tests.support import aws_calls

ROOT = Path(__file__).resolve().parents[2]
TEST_NAMES = {
    "table": "test-products",
    "images_bucket": "test-images",
    "exports_bucket": "test-exports",
    "signing_keys_secret": aws_calls.SIGNING_KEYS_SECRET,
}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y.png", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b", False),
        # A dot is a dot, not any character (a regex-built matcher gets this wrong).
        ("arn:aws:s3:::a.b/*", "arn:aws:s3:::axb/k", False),
        ("arn:aws:secretsmanager:*:*:secret:s-??????", "arn:aws:secretsmanager:r:1:secret:s-AbC123", True),
        ("arn:aws:secretsmanager:*:*:secret:s-??????", "arn:aws:secretsmanager:r:1:secret:s-AbC1234", False),
        ("arn:aws:sqs:*:*:q", "arn:aws:sqs:us-east-1:1:q-dlq", False),
    ],
)
def test_resources_match_with_iams_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert iam.matches(pattern, value) is expected


def test_actions_match_without_regard_to_case_and_deny_wins() -> None:
    documents = [policy(allow("S3:getobject", "arn:aws:s3:::b/*"))]
    assert iam.allowed(documents, "s3:GetObject", "arn:aws:s3:::b/k")
    assert not iam.allowed(documents, "s3:PutObject", "arn:aws:s3:::b/k")
    documents.append(policy({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/secret/*"}))
    assert not iam.allowed(documents, "s3:GetObject", "arn:aws:s3:::b/secret/k")
    assert iam.allowed(
        [policy(allow(["s3:GetObject"], ["arn:aws:s3:::x", "arn:aws:s3:::b/*"]))], "s3:GetObject", "arn:aws:s3:::b/k"
    )


def test_a_condition_is_refused_rather_than_guessed() -> None:
    documents = [policy(allow("s3:GetObject", "*", Condition={"Bool": {"aws:SecureTransport": "true"}}))]
    with pytest.raises(ValueError, match="conditions"):
        iam.allowed(documents, "s3:GetObject", "arn:aws:s3:::b/k")


def test_the_tests_names_become_the_stages() -> None:
    rules = policy_check.renamer(TEST_NAMES, "prod")
    prod = Names("prod")
    assert (
        policy_check.rename("arn:aws:dynamodb:us-east-1:123456789012:table/test-products/index/scope", rules)
        == f"arn:aws:dynamodb:us-east-1:123456789012:table/{prod.table}/index/scope"
    )
    assert policy_check.rename("arn:aws:s3:::test-images/products/a.png", rules) == (
        f"arn:aws:s3:::{prod.images_bucket}/products/a.png"
    )
    assert policy_check.rename(f"arn:aws:sqs:us-east-1:1:{queues.CAPTION_DLQ}", rules) == (
        f"arn:aws:sqs:us-east-1:1:{prod.queue(queues.CAPTION_DLQ)}"
    )
    secret = f"arn:aws:secretsmanager:us-east-1:1:secret:{aws_calls.SIGNING_KEYS_SECRET}-1a2b3c4d-XyZ123"
    assert policy_check.rename(secret, rules).startswith(
        f"arn:aws:secretsmanager:us-east-1:1:secret:{prod.signing_keys_secret}-"
    )
    # Another table keeps its name: no policy of the stage names it.
    assert policy_check.rename("arn:aws:dynamodb:r:1:table/test-products-2", rules).endswith("test-products-2")


def template() -> dict[str, Any]:
    """A packaged template's functions and roles, with the committed prod policies."""
    resources: dict[str, Any] = {}
    for function in policies.FUNCTIONS:
        logical = function.title().replace("_", "")
        resources[logical] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "FunctionName": Names("prod").function(function),
                "Role": {"Fn::GetAtt": [f"{logical}Role", "Arn"]},
                "Tags": {"aws-chalice": "version=1.34.0:stage=prod:app=sartiq-products"},
            },
        }
        document = json.loads((ROOT / ".chalice" / policies.file_name(function, "prod")).read_text())
        resources[f"{logical}Role"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {"Policies": [{"PolicyName": "p", "PolicyDocument": document}]},
        }
    return {"Resources": resources}


def every_grant_used() -> set[tuple[str, str, str]]:
    """One call for each granted (action, resource) that is not kept with a reason, in test names."""
    calls = set()
    inverse = {
        Names("prod").table: "test-products",
        Names("prod").images_bucket: "test-images",
        Names("prod").exports_bucket: "test-exports",
        **{Names("prod").queue(name): name for pair in queues.QUEUES for name in pair},
        Names("prod").signing_keys_secret: aws_calls.SIGNING_KEYS_SECRET,
    }
    for function in policies.FUNCTIONS:
        kept = policies.unrecorded_reasons(function, "prod")
        for _, action, resource in iam.grants([policies.document(function, "prod")]):
            if (action, resource) in kept:
                continue
            concrete = resource.replace(":*:*:", ":us-east-1:123456789012:").replace("::*::", "::us-east-1::")
            concrete = concrete.replace("??????", "AbC123").replace("*", "x")
            for prod_name, test_name in sorted(inverse.items(), key=lambda kv: -len(kv[0])):
                if prod_name in concrete:
                    concrete = concrete.replace(prod_name, test_name)
                    break
            calls.add((function, action, concrete))
    return calls


def test_calls_within_every_policy_pass_and_every_grant_is_used() -> None:
    failures, report = policy_check.check(template(), every_grant_used(), TEST_NAMES)
    assert failures == []
    assert "kept unrecorded" in "\n".join(report)


def test_a_call_outside_the_functions_policy_fails() -> None:
    calls = every_grant_used()
    # The export queue's visibility changed by the caption worker: granted to the export worker only.
    calls.add((queues.CAPTION_HANDLER, "sqs:ChangeMessageVisibility", f"arn:aws:sqs:us-east-1:1:{queues.EXPORT_QUEUE}"))
    failures, _ = policy_check.check(template(), calls, TEST_NAMES)
    assert failures == [
        f"{queues.CAPTION_HANDLER}: sqs:ChangeMessageVisibility on "
        f"arn:aws:sqs:us-east-1:1:{Names('prod').queue(queues.EXPORT_QUEUE)} is not allowed by its policy"
    ]


def test_a_grant_nothing_used_fails() -> None:
    calls = {c for c in every_grant_used() if not (c[0] == queues.EXPORT_HANDLER and c[1] == "sqs:SendMessage")}
    failures, _ = policy_check.check(template(), calls, TEST_NAMES)
    assert len(failures) == 1 and "export_worker Jobs: grants sqs:SendMessage" in failures[0]


def test_another_stages_template_is_told_apart() -> None:
    dev = copy.deepcopy(template())
    for resource in dev["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["Tags"]["aws-chalice"] = "version=1.34.0:stage=dev:app=sartiq-products"
    with pytest.raises(SystemExit, match="is the dev template"):
        policy_check.check(dev, every_grant_used(), TEST_NAMES)
