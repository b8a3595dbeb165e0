"""The local stack over real HTTP: `python -m ops.cli local`, then a product's life, then parallel clients."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.factories import png_b64
from tests.support.local_stack import LocalStack, listening

pytestmark = pytest.mark.e2e

PASSWORD = "e2e-admin-password"
CLIENTS = 12
CREATES_PER_CLIENT = 4
BRANDS = ["North", "South", "East"]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(env={"FIRST_SUPERUSER": "admin@example.com", "FIRST_SUPERUSER_PASSWORD": PASSWORD})
    try:
        local.start()
        yield local
    finally:
        # Whatever happened above: SIGINT as Ctrl-C would, then every process of the tree killed.
        status = local.stop()
        left = local.alive()
    assert status == 0, f"the stack did not stop cleanly on SIGINT (status {status}):\n{local.output()}"
    assert not left, f"processes left behind: {left}"
    assert not listening(local.port), "chalice local still listens after Ctrl-C"
    assert not listening(local.moto_port), "the moto server still listens after Ctrl-C"


def admin_headers(stack: LocalStack) -> dict[str, str]:
    login = requests.post(
        f"{stack.url}/login/access-token",
        data={"username": "admin@example.com", "password": PASSWORD},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def test_printed_header_works_and_demo_data_exists(stack: LocalStack) -> None:
    name, _, value = stack.header.partition(": ")
    r = requests.get(f"{stack.url}/products/", headers={name: value}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["count"] > 0


def test_product_life_over_http(stack: LocalStack) -> None:
    base = stack.url
    auth = admin_headers(stack)

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


def test_parallel_clients_in_one_scope(stack: LocalStack) -> None:
    """12 clients create 48 products in one organization at once: every answer 200, counts exact.

    As a browser does: parallel requests, each client on its own connection. moto's whole-table
    copy per transaction used to fail such requests with 500s (or 409s from an SDK retry).
    """
    auth = admin_headers(stack)
    org = requests.post(f"{stack.url}/organizations/", json={"name": "Parallel"}, headers=auth, timeout=30)
    assert org.status_code == 200, org.text
    org_id = org.json()["id"]
    # Bounded: a client that fails before it arrives breaks the wait instead of hanging the rest.
    barrier = threading.Barrier(CLIENTS, timeout=60)

    def client(n: int) -> list[tuple[int, str, str]]:
        answers: list[tuple[int, str, str]] = []
        with requests.Session() as session:
            session.headers.update(auth)
            barrier.wait()
            for i in range(CREATES_PER_CLIENT):
                brand = BRANDS[(n + i) % len(BRANDS)]
                body = {"name": f"P{n}-{i}", "brand": brand, "year": 2024 + i % 2, "cover_image": png_b64((n, i, 9))}
                r = session.post(f"{stack.url}/products/", params={"organization_id": org_id}, json=body, timeout=60)
                answers.append((r.status_code, brand, r.json().get("id", "") if r.status_code == 200 else r.text))
        return answers

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = [a for result in pool.map(client, range(CLIENTS)) for a in result]

    assert [a for a in answers if a[0] != 200] == []
    assert len(answers) == CLIENTS * CREATES_PER_CLIENT
    created = {a[2] for a in answers}
    assert len(created) == CLIENTS * CREATES_PER_CLIENT

    listed = requests.get(
        f"{stack.url}/products/", params={"organization_id": org_id, "limit": 100}, headers=auth, timeout=30
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == CLIENTS * CREATES_PER_CLIENT
    assert {p["id"] for p in listed.json()["data"]} == created

    brands = requests.get(
        f"{stack.url}/brands/", params={"organization_id": org_id, "with_counts": "true"}, headers=auth, timeout=30
    )
    assert brands.status_code == 200, brands.text
    assert brands.json()["counts"] == dict(Counter(a[1] for a in answers))
    years = requests.get(
        f"{stack.url}/years/", params={"organization_id": org_id, "with_counts": "true"}, headers=auth, timeout=30
    )
    assert years.status_code == 200, years.text
    assert {int(k): v for k, v in years.json()["counts"].items()} == {2024: 24, 2025: 24}
