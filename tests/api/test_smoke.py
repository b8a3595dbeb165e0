from tests.factories import Api, png_b64


def test_create_and_get(api: Api) -> None:
    _, token = api.user()
    p = api.product(token, brand="Acme", cover_image=png_b64())
    r = api.get(f"/api/v1/products/{p['id']}", token)
    assert r.status == 200, r
    assert r.json["cover_image_media"]["width"] == 8
    r = api.get("/api/v1/products/", token)
    assert r.status == 200, r
    assert r.json["count"] == 1
