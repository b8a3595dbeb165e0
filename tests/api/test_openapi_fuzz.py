"""schemathesis against the served document, on the app itself (in-process, over moto).

Every operation of /api/v1/openapi.json, with generated valid and invalid requests, signed in
as a user who owns a product: no 5xx, no status code the document does not declare, every
response valid against its declared schema, content type and headers, invalid input rejected
and valid input accepted (all of schemathesis's checks). A bounded number of examples per
operation (SCHEMATHESIS_EXAMPLES, 10 by default; raise it for a deeper run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

import app as application
from tests.factories import Api
from tests.support import harness
from tests.support.wsgi import wsgi

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))

# Operations whose schema-valid requests may still be refused with a 422, for a rule JSON Schema
# cannot state (schemathesis's own advice for positive_data_acceptance: allow 422 per operation).
# Everything a schema can say (enums, bounds, formats, patterns, nullability) is in the document.
REFUSES_SCHEMA_VALID = {
    # an image must decode (base64 data, a URL that serves an image, a READY upload of the caller)
    "POST /api/v1/products/": "images must be real images; body and query organization_id must agree",
    "PUT /api/v1/products/{id}": "images must be real images",
    "PATCH /api/v1/products/{id}": "images must be real images",
    "POST /api/v1/predictions/{id}/refines": "a result image needs a media_resource_id or a url",
    "PATCH /api/v1/refines/{id}": "a result image needs a media_resource_id or a url",
    "PATCH /api/v1/predictions/{id}": "a result image needs a media_resource_id or a url",
    "POST /api/v1/shots/{id}/revisions": "an image, or a PREDICTION source with its prediction_id; "
    "prediction_id and refine_id name the look's product's",
    # the body names what the path or the query names too: they must agree
    "POST /api/v1/brands/": "body and query organization_id must agree",
    "POST /api/v1/brand-collections/": "body and query organization_id must agree",
    "POST /api/v1/shootings/": "body and query organization_id must agree",
    "POST /api/v1/generations/": "body and query organization_id must agree; images must be real; "
    "product2_id, shooting_look_id and shot_id name readable objects of the product",
    "POST /api/v1/products/selected_shot/{product_id}": "body product_id must be the path's",
    # one of several fields
    "POST /api/v1/products/export-approved-shots/async": "exactly one of product_ids, product_filters, "
    "shooting_look_id; body and query organization_id must agree",
    # a cursor is opaque: only the next_cursor of the same listing is one
    "GET /api/v1/products/": "a cursor must be a next_cursor this API gave for the same filters and order",
    # settings: the size limit (MAX_IMAGE_BYTES) and the types taken (UPLOAD_CONTENT_TYPES)
    "POST /api/v1/uploads/": "size and type within the configured limits",
    # email-validator's rules beyond the address's length (reserved domains, label lengths)
    "POST /api/v1/users/": "a deliverable-looking email address",
    "PATCH /api/v1/users/me": "a deliverable-looking email address",
    "POST /api/v1/organizations/{org_id}/invitations": "a deliverable-looking email address",
}
# Operations whose schema-valid requests may be refused with another status, for the same kind of
# reason: the status, and the rule.
REFUSES_SCHEMA_VALID_WITH = {
    # the caller's current password is not something a generator guesses, and its wrong guesses
    # count against the account's sign-in limit (a 429 once it is reached)
    "PATCH /api/v1/users/me/password": (("400", "429"), "current_password must be the caller's password"),
}
POSITIVE_OK = ["2xx", "3xx", "401", "403", "404", "409"]

harness.start()
config = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-name": name,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*POSITIVE_OK, "422"]}},
            }
            for name in REFUSES_SCHEMA_VALID
        ]
        + [
            {
                "include-name": name,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*POSITIVE_OK, *statuses]}},
            }
            for name, (statuses, _) in REFUSES_SCHEMA_VALID_WITH.items()
        ]
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi(application.app), config=config)


@pytest.fixture
def bearer(api: Api) -> Iterator[dict[str, str]]:
    _, token = api.user()
    api.product(token)
    yield {"Authorization": f"Bearer {token}"}


# One pytest test per operation and generation mode, built from schemathesis's strategies: the
# plugin's own `schema.parametrize()` items are lost under pytest-xdist's --dist loadfile (only
# the first one ran), and `make test` distributes by file.
OPERATIONS = {op.label: op for op in (result.ok() for result in schema.get_all_operations())}


def _takes_input(label: str) -> bool:
    method, path = label.split(" ", 1)
    definition = schema.raw_schema["paths"][path][method.lower()]
    return bool(definition.get("parameters") or definition.get("requestBody"))


# Invalid requests only where there is an input to make invalid (GET /users/me has none).
CASES = [
    pytest.param(label, mode, id=f"{label}-{mode.value}")
    for label in sorted(OPERATIONS)
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE or _takes_input(label)
]


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_the_app_keeps_its_documented_contract(label: str, mode: GenerationMode, bearer: dict[str, str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        derandomize=True,
        database=None,
    )
    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=bearer)

    check()


def test_every_documented_operation_is_fuzzed() -> None:
    documented = {f"{method.upper()} {path}" for path, ops in schema.raw_schema["paths"].items() for method in ops}
    assert documented == set(OPERATIONS)
