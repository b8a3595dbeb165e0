"""The served OpenAPI document is the reference plus the added endpoints, and is valid OpenAPI 3.1."""

from openapi_spec_validator import validate

from chalicelib.api.openapi import document
from tests.schema import reference


def test_document_keeps_the_reference_and_adds_auth() -> None:
    doc = document()
    for path, ops in reference()["paths"].items():
        assert doc["paths"][path] == ops
    for name, schema in reference()["components"]["schemas"].items():
        assert doc["components"]["schemas"][name] == schema
    assert "post" in doc["paths"]["/api/v1/login/access-token"]
    assert doc["components"]["schemas"]["UserPublic"]["properties"]["email"]["type"] == "string"
    validate(doc)


def test_document_describes_uploads() -> None:
    doc = document()
    sign = doc["paths"]["/api/v1/uploads/"]["post"]
    assert sign["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/UploadCreate")
    assert {"filename", "content_type", "size"} <= set(doc["components"]["schemas"]["UploadCreate"]["required"])
    assert "fields" in doc["components"]["schemas"]["UploadPublic"]["properties"]
    assert "get" in doc["paths"]["/api/v1/uploads/{id}"]
