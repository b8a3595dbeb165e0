from tests.factories import Api, png_b64
from tests.schema import SHARED, VENDORED, assert_valid


def test_vendored_reference_matches_shared() -> None:
    if SHARED.exists():
        assert SHARED.read_text() == VENDORED.read_text()


def test_product_and_list_validate(api: Api) -> None:
    _, token = api.user()
    product = api.product(token, cover_image=png_b64(), reference_images=[png_b64((1, 2, 3))], year=2024)
    assert_valid("ProductPublic", product)
    listing = api.get("/api/v1/products/", token).json
    assert_valid("ProductsPublic", listing)


def test_schema_check_can_fail() -> None:
    try:
        assert_valid("ProductPublic", {"id": "not-a-uuid"})
    except AssertionError:
        return
    raise AssertionError("an invalid body passed the schema check")
