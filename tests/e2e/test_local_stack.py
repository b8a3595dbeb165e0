"""The local stack over real HTTP: `python -m chalicelib.cli local`, then a product's life."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.factories import png_b64

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    port, moto_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"FIRST_SUPERUSER": "admin@example.com", "FIRST_SUPERUSER_PASSWORD": "e2e-admin-password"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.cli", "local", "--port", str(port), "--moto-port", str(moto_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("READY"):
            break
    else:
        proc.kill()
    token_lines = [ln for ln in lines if ln.startswith("Authorization: Bearer ")]
    if not token_lines:
        proc.kill()
        pytest.fail("local stack did not start:\n" + "".join(lines[-40:]))
    yield {"url": f"http://127.0.0.1:{port}/api/v1", "header": token_lines[0].strip(), "moto": str(moto_port)}
    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "chalice local still listens after Ctrl-C"


def test_printed_header_works_and_demo_data_exists(stack: dict[str, str]) -> None:
    name, _, value = stack["header"].partition(": ")
    r = requests.get(f"{stack['url']}/products/", headers={name: value}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["count"] > 0


def test_product_life_over_http(stack: dict[str, str]) -> None:
    base = stack["url"]
    login = requests.post(
        f"{base}/login/access-token",
        data={"username": "admin@example.com", "password": "e2e-admin-password"},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

    created = requests.post(
        f"{base}/products/",
        json={"name": "E2E Tee", "brand": "E2E Brand", "year": 2026, "cover_image": png_b64()},
        headers=auth,
        timeout=30,
    )
    assert created.status_code == 200, created.text
    product = created.json()
    image = requests.get(product["cover_image_url"], timeout=30)
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"

    listed = requests.get(f"{base}/products/", params={"brand": "e2e brand"}, headers=auth, timeout=30)
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["data"]] == [product["id"]]

    got = requests.get(f"{base}/products/{product['id']}", headers=auth, timeout=30)
    assert got.status_code == 200 and got.json() == product

    updated = requests.put(f"{base}/products/{product['id']}", json={"colour": "Red"}, headers=auth, timeout=30)
    assert updated.status_code == 200, updated.text
    assert updated.json()["colour"] == "Red" and updated.json()["name"] == "E2E Tee"

    deleted = requests.delete(f"{base}/products/{product['id']}", headers=auth, timeout=30)
    assert deleted.status_code == 200 and deleted.json() == {"message": "Product deleted successfully"}
    gone = requests.get(f"{base}/products/{product['id']}", headers=auth, timeout=30)
    assert gone.status_code == 404 and gone.json() == {"detail": "Product not found"}
    assert requests.get(product["cover_image_url"], timeout=30).status_code == 404
