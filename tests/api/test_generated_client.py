"""A client generated from the served document reads well and works.

openapi-python-client, run on /api/v1/openapi.json, must generate without a warning, group the
functions by tag and name them by operationId (not one `default` group named after paths), and
its models must parse the service's answers: signed in through the generated login, a product
created and listed through the generated functions comes back as typed models.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import app as application
from chalicelib.api.openapi_document import build_document
from tests.factories import Api, png_b64
from tests.support.wsgi import wsgi

PACKAGE = "sartiq_generated_client"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    root = tmp_path_factory.mktemp("client")
    spec = root / "openapi.json"
    spec.write_text(json.dumps(build_document(application.app)))
    # The generator formats its output with ruff (a post-hook found on PATH).
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(BIN / "openapi-python-client"), "generate", "--path", str(spec), "--meta", "none"]
    result = subprocess.run(
        [*command, "--output-path", str(root / PACKAGE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=120,
    )
    output = result.stdout + result.stderr
    sys.path.insert(0, str(root))
    try:
        yield root / PACKAGE, output
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_the_client_generates_without_warnings(generated: tuple[Path, str]) -> None:
    package, output = generated
    assert "Warning" not in output and "Error" not in output, output
    assert (package / "client.py").exists()


def test_functions_are_grouped_by_tag_and_named_by_operation_id(generated: tuple[Path, str]) -> None:
    package, _ = generated
    doc = build_document(application.app)
    tags = {op["tags"][0] for ops in doc["paths"].values() for op in ops.values()}
    groups = {p.name for p in (package / "api").iterdir() if p.is_dir() and not p.name.startswith("__")}
    assert groups == {tag.replace("-", "_") for tag in tags}
    assert "default" not in groups
    for ops in doc["paths"].values():
        for op in ops.values():
            module = package / "api" / op["tags"][0].replace("-", "_") / f"{op['operationId']}.py"
            assert module.exists(), module


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_generated_client_signs_in_creates_and_lists_products(generated: tuple[Path, str], api: Api) -> None:
    api.user(email="client@example.com", password="client-password-1")
    transport = httpx.WSGITransport(app=wsgi(application.app))
    client_module = _module("client")
    models = _module("models")
    anonymous = client_module.Client(base_url="http://testserver", httpx_args={"transport": transport})

    token = _module("api.login.login_access_token").sync(
        client=anonymous, body=models.LoginForm(username="client@example.com", password="client-password-1")
    )
    assert isinstance(token, models.Token), token

    signed_in = client_module.AuthenticatedClient(
        base_url="http://testserver", token=token.access_token, httpx_args={"transport": transport}
    )
    created = _module("api.products.create_product").sync(
        client=signed_in,
        body=models.ProductCreate(
            name="Generated Tee", cover_image=f"data:image/png;base64,{png_b64()}", brand="Client Brand"
        ),
        sync_captioning=False,
    )
    assert isinstance(created, models.ProductPublic), created
    assert created.name == "Generated Tee"

    page = _module("api.products.read_products").sync(client=signed_in, brand="client brand", limit=10)
    assert isinstance(page, models.ProductsPublic), page
    assert page.count == 1
    assert [p.id for p in page.data] == [created.id]
    assert isinstance(page.data[0], models.ProductPublic)

    brands = _module("api.brands.read_brands").sync(client=signed_in)
    assert isinstance(brands, models.BrandsPublic), brands
    assert brands.data == ["Client Brand"]

    missing = _module("api.products.read_product").sync(client=signed_in, id=created.id.__class__(int=1))
    assert isinstance(missing, models.HTTPError) and missing.detail == "Product not found"
