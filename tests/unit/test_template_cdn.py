"""The images CDN, the API stage's throttle and tracing, in the checked-in template.

Read as tests/unit/test_template_checks.py reads it (infra/resources-prod.json, which `chalice package
--merge-template` merges into its own template) and checked against the code and
.chalice/config.json, not against ops.template's constants.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import pytest
from chalice.app import ScheduledEventConfig, SQSEventConfig
from chalice.config import Config
from chalice.utils import to_cfn_resource_name

from chalicelib.store.blobs import product_image_key, upload_key
from chalicelib.store.generations import generation_image_key
from tests.unit.test_template_checks import ROOT, TEMPLATE, WRITTEN, as_list

CHALICE_CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
PRODUCT = "0b7f3f5e-8a59-4e0c-9a7e-0d6f0c6c1c11"
MEDIA = "5f0c6f0e-1d2c-4b8a-9e3f-2a1b0c9d8e7f"
ACCOUNT = "123456789012"
MEDIA_BASE_URL = {"Fn::Sub": "https://${ImagesDistribution.DomainName}"}


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {logical_id: r for logical_id, r in TEMPLATE.items() if r.get("Type") == kind}


def _one(kind: str) -> tuple[str, dict[str, Any]]:
    found = _of_type(kind)
    assert len(found) == 1, f"one {kind}, found {sorted(found)}"
    ((logical_id, resource),) = found.items()
    return logical_id, resource


def _distribution() -> tuple[str, dict[str, Any]]:
    logical_id, resource = _one("AWS::CloudFront::Distribution")
    return logical_id, resource["Properties"]["DistributionConfig"]


def _resolve_sub(value: Any, names: dict[str, str]) -> str:
    """A Sub's string with its variables replaced, each of them required to be in `names`."""
    text = value["Fn::Sub"]
    assert isinstance(text, str), value
    for name, replacement in names.items():
        text = text.replace("${" + name + "}", replacement)
    assert "${" not in text, f"unresolved variable in {value}"
    return str(text)


def _functions() -> list[str]:
    """Every function `chalice package` makes of app.py: the API's and one per event handler."""
    from app import app

    known = (SQSEventConfig, ScheduledEventConfig)
    handlers = [to_cfn_resource_name(s.name) for s in app.event_sources if isinstance(s, known)]
    assert len(handlers) == len(app.event_sources), "an event source of a new kind: check its environment"
    return ["APIHandler", *handlers]


def test_the_distribution_reads_the_images_bucket_through_origin_access_control() -> None:
    _, config = _distribution()
    assert config["Enabled"] is True
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["ImagesBucket", "RegionalDomainName"]}
    oac_id, oac = _one("AWS::CloudFront::OriginAccessControl")
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    settings = oac["Properties"]["OriginAccessControlConfig"]
    assert settings["OriginAccessControlOriginType"] == "s3"
    assert settings["SigningProtocol"] == "sigv4"
    # Every request signed: "no-override" would pass a viewer's Authorization header on instead.
    assert settings["SigningBehavior"] == "always"
    # No legacy origin access identity: none declared, none on the origin.
    assert not _of_type("AWS::CloudFront::CloudFrontOriginAccessIdentity")
    assert origin.get("S3OriginConfig", {}).get("OriginAccessIdentity", "") == ""
    assert "CustomOriginConfig" not in origin


def test_viewers_get_images_over_https_and_only_read() -> None:
    _, config = _distribution()
    (origin,) = config["Origins"]
    behaviours = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    for behaviour in behaviours:
        assert behaviour["TargetOriginId"] == origin["Id"]
        assert behaviour["ViewerProtocolPolicy"] in {"redirect-to-https", "https-only"}
        assert sorted(behaviour["AllowedMethods"]) == ["GET", "HEAD"]
        assert sorted(behaviour["CachedMethods"]) == ["GET", "HEAD"]
        assert behaviour["CachePolicyId"], "a cache policy (not the legacy ForwardedValues)"
        assert "ForwardedValues" not in behaviour


def test_the_bucket_policy_lets_only_the_distribution_read_product_images() -> None:
    distribution_id, _ = _distribution()
    policies = _of_type("AWS::S3::BucketPolicy")
    (policy,) = [p for p in policies.values() if p["Properties"]["Bucket"] == {"Ref": "ImagesBucket"}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements
    names = {
        "AWS::Partition": "aws",
        "AWS::AccountId": ACCOUNT,
        "ImagesBucket": "images-bucket",
        distribution_id: "E2EXAMPLE",
    }
    for statement in statements:
        assert statement["Effect"] == "Allow"
        # The service principal only: no account, no user, no "*".
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert as_list(statement["Action"]) == ["s3:GetObject"]
        condition = statement["Condition"]
        assert list(condition) == ["StringEquals"] and list(condition["StringEquals"]) == ["AWS:SourceArn"]
        source = condition["StringEquals"]["AWS:SourceArn"]
        # This distribution's ARN, so another account's distribution cannot read the bucket.
        assert f"${{{distribution_id}}}" in source["Fn::Sub"]
        assert _resolve_sub(source, names) == f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE"

        (resource,) = as_list(statement["Resource"])
        pattern = _resolve_sub(resource, names)

        def readable(key: str, pattern: str = pattern) -> bool:
            return fnmatchcase(f"arn:aws:s3:::images-bucket/{key}", pattern)

        # A product's images and its generations' results are served; a browser's upload, which
        # nothing has checked yet (or no product used), is not.
        assert readable(product_image_key(PRODUCT, MEDIA, "jpg"))
        assert readable(generation_image_key(PRODUCT, MEDIA, "png"))
        assert not readable(upload_key(MEDIA))
    # The exports bucket has no policy: its objects go out as presigned URLs only.
    assert all(p["Properties"]["Bucket"] == {"Ref": "ImagesBucket"} for p in policies.values())


@pytest.mark.parametrize("bucket", ["ImagesBucket", "ExportsBucket"])
def test_public_access_stays_blocked(bucket: str) -> None:
    block = TEMPLATE[bucket]["Properties"]["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_every_function_gets_the_distribution_domain_as_media_base_url() -> None:
    distribution_id, _ = _distribution()
    assert MEDIA_BASE_URL["Fn::Sub"] == f"https://${{{distribution_id}.DomainName}}"
    for function in _functions():
        variables = TEMPLATE[function]["Properties"]["Environment"]["Variables"]
        assert variables["MEDIA_BASE_URL"] == MEDIA_BASE_URL, function
    # Nothing in the template has an environment without it.
    for logical_id, resource in TEMPLATE.items():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables")
        if variables is not None:
            assert variables.get("MEDIA_BASE_URL") == MEDIA_BASE_URL, logical_id


def test_the_distribution_domain_is_an_output() -> None:
    distribution_id, _ = _distribution()
    outputs = [o["Value"] for o in WRITTEN["Outputs"].values()]
    assert {"Fn::GetAtt": [distribution_id, "DomainName"]} in outputs


def test_the_api_stage_is_throttled_by_the_stage_settings() -> None:
    configured = CHALICE_CONFIG["stages"]["prod"]["api_throttling"]
    properties = TEMPLATE["RestAPI"]["Properties"]
    (method,) = properties["MethodSettings"]
    # Every method of every resource.
    assert method["HttpMethod"] == "*"
    assert method["ResourcePath"] == "/*"
    rate, burst = method["ThrottlingRateLimit"], method["ThrottlingBurstLimit"]
    assert rate.keys() == burst.keys() == {"Ref"}, "limits a deploy can override, not literals"
    parameters = WRITTEN["Parameters"]
    assert parameters[rate["Ref"]]["Type"] == parameters[burst["Ref"]]["Type"] == "Number"
    assert parameters[rate["Ref"]]["Default"] == configured["rate_limit"]
    assert parameters[burst["Ref"]]["Default"] == configured["burst_limit"]
    assert configured["rate_limit"] > 0 and configured["burst_limit"] >= 1
    # Only additions: chalice's own properties (the API definition, the stage) are not replaced.
    assert not {"DefinitionBody", "StageName", "EndpointConfiguration"} & set(properties)
    assert "Type" not in TEMPLATE["RestAPI"]


def test_prod_is_traced_by_x_ray() -> None:
    assert CHALICE_CONFIG["stages"]["prod"]["xray"] is True
    from app import app

    handlers = ["api_handler", *(s.name for s in app.event_sources)]
    for handler in handlers:
        # What `chalice package` reads for each function's Tracing (Active).
        config = Config(chalice_stage="prod", function_name=handler, config_from_disk=CHALICE_CONFIG)
        assert config.xray_enabled is True, handler
    # The stage too, so that a request's trace starts at API Gateway.
    assert TEMPLATE["RestAPI"]["Properties"]["TracingEnabled"] is True
