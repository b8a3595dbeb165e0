"""The local captioner: colours, pattern, tone and orientation read from images made here."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from PIL import Image, ImageDraw

from chalicelib.services.captioning import Caption, CaptionFailed, CaptionImage, CaptionRequest
from chalicelib.services.captioning.local import LocalCaptioner, colour_name, dominant_colours

NAVY = (20, 30, 80)
RED = (200, 20, 30)
WHITE = (255, 255, 255)


def encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt.upper(), **({"quality": 90} if fmt in ("jpeg", "webp") else {}))
    return out.getvalue()


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (300, 400)) -> Image.Image:
    return Image.new("RGB", size, colour)


def stripes(
    first: tuple[int, int, int], second: tuple[int, int, int], size: tuple[int, int] = (300, 400), width: int = 20
) -> Image.Image:
    img = Image.new("RGB", size, first)
    draw = ImageDraw.Draw(img)
    for x in range(width, size[0], 2 * width):
        draw.rectangle((x, 0, x + width - 1, size[1]), fill=second)
    return img


def describe(data: bytes, fmt: str = "jpeg", product: dict[str, Any] | None = None) -> Caption:
    request = CaptionRequest(images=[CaptionImage(data, fmt, "cover")], product=product or {})
    return LocalCaptioner().describe(request)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_solid_navy_is_named_navy_and_solid(fmt: str) -> None:
    result = describe(encode(solid(NAVY), fmt), fmt)
    assert "navy" in result.caption
    assert "solid" in result.caption
    assert "patterned" not in result.caption
    assert "navy" in result.alt_text.lower()


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_red_and_white_stripes_are_patterned_and_named(fmt: str) -> None:
    result = describe(encode(stripes(RED, WHITE), fmt), fmt)
    assert "patterned" in result.caption
    assert "solid" not in result.caption
    assert "red" in result.caption
    assert "white" in result.caption


def test_checks_are_patterned() -> None:
    img = Image.new("RGB", (400, 400), WHITE)
    draw = ImageDraw.Draw(img)
    for x in range(0, 400, 25):
        for y in range(0, 400, 25):
            if (x + y) // 25 % 2:
                draw.rectangle((x, y, x + 24, y + 24), fill=NAVY)
    result = describe(encode(img, "png"), "png")
    assert "patterned" in result.caption
    assert "navy" in result.caption
    assert "white" in result.caption


def test_dark_and_light() -> None:
    dark = describe(encode(solid((15, 15, 15)), "jpeg"))
    light = describe(encode(solid((245, 245, 240)), "jpeg"))
    assert "dark" in dark.caption
    assert "light" not in dark.caption
    assert "light" in light.caption
    assert "dark" not in light.caption


@pytest.mark.parametrize(
    ("size", "orientation"),
    [((300, 400), "portrait"), ((400, 300), "landscape"), ((400, 400), "square"), ((401, 398), "square")],
)
def test_orientation(size: tuple[int, int], orientation: str) -> None:
    result = describe(encode(solid(NAVY, size), "png"), "png")
    assert f"{orientation} image" in result.caption


def test_exif_rotation_counts_for_orientation() -> None:
    # A camera's portrait shot: landscape pixels, turned by the EXIF orientation (6: 90 degrees).
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    solid(NAVY, (400, 300)).save(out, format="JPEG", exif=exif)
    assert "portrait image" in describe(out.getvalue()).caption


def test_transparent_png_is_seen_on_white() -> None:
    # A red garment cut out on a transparent ground: the ground is white, not its stored black.
    img = Image.new("RGBA", (300, 400), (0, 0, 0, 0))
    ImageDraw.Draw(img).rectangle((50, 50, 250, 350), fill=(*RED, 255))
    result = describe(encode(img, "png"), "png")
    assert "red" in result.caption
    assert "white" in result.caption
    assert "black" not in result.caption


def test_product_fields_in_caption_and_alt_text() -> None:
    product = {"name": "Oxford Shirt", "brand": "Acme", "type": "Shirt", "gender": "MALE"}
    result = describe(encode(stripes(NAVY, WHITE), "jpeg"), product=product)
    assert result.caption.startswith("A men's navy and white patterned shirt by Acme, shown in a ")
    assert result.alt_text == "Men's navy and white patterned shirt by Acme"
    assert "Oxford Shirt" in result.description


def test_name_is_the_noun_without_a_type_and_garment_without_either() -> None:
    data = encode(solid(NAVY), "png")
    assert "solid navy Oxford Shirt" in describe(data, "png", {"name": "Oxford Shirt"}).caption
    assert describe(data, "png").alt_text == "Solid navy garment"


def test_description_uses_listed_fields() -> None:
    product = {"type": "Dress", "colour": "Midnight", "materials": "100% cotton", "season": "AW24"}
    result = describe(encode(solid(NAVY), "png"), "png", product)
    assert result.description.startswith(result.caption)
    for value in ("Midnight", "100% cotton", "AW24"):
        assert value in result.description
    # Fields that are not text (nested objects, numbers) are not spelt into the sentences.
    odd = describe(encode(solid(NAVY), "png"), "png", {"type": {"id": 3}, "brand": 7})
    assert odd.alt_text == "Solid navy garment"


def test_back_image_is_mentioned_and_cover_is_used() -> None:
    back = CaptionImage(encode(solid(RED), "png"), "png", "back")
    cover = CaptionImage(encode(solid(NAVY), "png"), "png", "cover")
    result = LocalCaptioner().describe(CaptionRequest(images=[back, cover]))
    assert "navy" in result.caption
    assert "red" not in result.caption
    assert "back view" in result.description


def test_first_image_without_a_cover() -> None:
    first = CaptionImage(encode(solid(RED), "png"), "png", "other")
    second = CaptionImage(encode(solid(NAVY), "png"), "png", "other")
    assert "red" in LocalCaptioner().describe(CaptionRequest(images=[first, second])).caption


def test_deterministic() -> None:
    data = encode(stripes(RED, WHITE), "webp")
    product = {"brand": "Acme", "type": "Shirt"}
    assert describe(data, "webp", product) == describe(data, "webp", product)


def test_unreadable_image_fails_for_good() -> None:
    with pytest.raises(CaptionFailed) as raised:
        describe(b"not an image at all" * 10)
    assert raised.value.retryable is False
    assert raised.value.reason == "cover image is not a readable image"


def test_truncated_image_fails_for_good() -> None:
    data = encode(stripes(RED, WHITE), "jpeg")
    with pytest.raises(CaptionFailed) as raised:
        describe(data[: len(data) // 3])
    assert raised.value.retryable is False


def test_no_images_fails_for_good() -> None:
    with pytest.raises(CaptionFailed) as raised:
        LocalCaptioner().describe(CaptionRequest(images=[], product={"brand": "Acme"}))
    assert raised.value.retryable is False
    assert raised.value.reason == "no image to caption"


def test_large_photo() -> None:
    data = encode(stripes(RED, WHITE, size=(4000, 3000), width=200), "jpeg")
    started = time.perf_counter()
    result = describe(data)
    elapsed = time.perf_counter() - started
    assert "landscape image" in result.caption
    assert "red" in result.caption
    # The JPEG is decoded at a reduced scale: far under the cost of a full decode.
    assert elapsed < 2.0


def test_texts_are_within_the_wire_limits() -> None:
    product = {"brand": "B" * 5000, "type": "Shirt", "materials": "M" * 5000}
    result = describe(encode(solid(NAVY), "png"), "png", product)
    assert result == result.bounded()
    assert len(result.alt_text) <= 1000


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((0, 0, 128), "navy"),
        ((31, 42, 68), "navy"),
        ((65, 105, 225), "blue"),
        ((255, 0, 0), "red"),
        ((128, 0, 32), "burgundy"),
        ((250, 250, 250), "white"),
        ((10, 10, 10), "black"),
        ((128, 128, 128), "grey"),
        ((34, 139, 34), "green"),
        ((255, 215, 0), "yellow"),
        ((255, 140, 0), "orange"),
        ((255, 182, 193), "pink"),
        ((102, 51, 153), "purple"),
        ((120, 80, 50), "brown"),
        ((0, 128, 128), "teal"),
    ],
)
def test_colour_names(rgb: tuple[int, int, int], name: str) -> None:
    assert colour_name(rgb) == name


def test_dominant_colours_merge_names_and_drop_small_shares() -> None:
    shares = [(0.3, (0, 0, 128)), (0.3, (31, 42, 68)), (0.3, (255, 255, 255)), (0.1, (255, 0, 0))]
    assert dominant_colours(shares) == ("navy", "white")
    # Under the minimum share, the largest is still named.
    busy = [(0.12, (255, 0, 0)), (0.11, (0, 128, 0)), (0.1, (0, 0, 255))]
    assert dominant_colours(busy) == ("red",)
