from tests.factories import Api


def test_facets_follow_products(api: Api) -> None:
    _, token = api.user()
    a = api.product(token, brand="Nike", season="SS", year=2024, brand_collection="Core")
    api.product(token, brand="nike", season="FW", year=2025, brand_collection="Run")
    r = api.get("/api/v1/brands/?with_counts=true", token)
    assert r.json == {"data": ["Nike"], "count": 1, "counts": {"Nike": 2}}
    assert api.get("/api/v1/years/", token).json["data"] == [2025, 2024]
    assert api.get("/api/v1/brand-collections/?brand=NIKE", token).json["data"] == ["Core", "Run"]
    api.put(f"/api/v1/products/{a['id']}", {"brand": "Adidas", "season": None}, token)
    assert api.get("/api/v1/brands/", token).json["data"] == ["Adidas", "Nike"]
    assert api.get("/api/v1/seasons/", token).json["data"] == ["FW"]
    assert api.get("/api/v1/brand-collections/?brand=nike", token).json["data"] == ["Run"]
    api.delete(f"/api/v1/products/{a['id']}", token)
    assert api.get("/api/v1/brands/", token).json["data"] == ["Nike"]
    r = api.post("/api/v1/brands/", {"name": "Zara"}, token)
    assert r.status == 200, r
    assert api.post("/api/v1/brands/", {"name": "ZARA"}, token).status == 409
    assert api.get("/api/v1/brands/", token).json["data"] == ["Nike", "Zara"]
    r2 = api.patch(f"/api/v1/brands/{r.json['id']}", {"name": "Zara Home"}, token)
    assert r2.status == 200, r2
    assert api.get("/api/v1/brands/", token).json["data"] == ["Nike", "Zara Home"]
    # Every-scope view: the shards keep the spelling of the products still carrying a value.
    assert [v.lower() for v in api.get("/api/v1/brands/", api.admin_token).json["data"]] == ["nike", "zara home"]
