"""The `local` captioner: a deterministic description from the pixels, not a vision model.

Pillow reads the cover image (downscaled first, so a 10 MB photo costs little), names its one or
two dominant colours from a table of common fashion colour names, and tells light from dark,
solid from patterned and the image's orientation. The product's own fields (name, brand, type,
colour, materials, gender, season) supply the words pixels cannot; nothing else is invented.
Same bytes and fields, same text; no network.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.services.captioning import Caption, CaptionFailed, CaptionImage, CaptionRequest

if TYPE_CHECKING:
    from PIL import Image

# The analysis runs on a thumbnail of at most this size: enough for colours and variance.
THUMBNAIL = (128, 128)
# JPEG decodes straight to a reduced scale (DCT scaling) no smaller than this: the full-size
# pixels of a large photo are never materialised.
DRAFT = (256, 256)
PALETTE_SIZE = 5
# A colour is named when it covers at least this share of the pixels (after merging names).
MIN_COLOUR_SHARE = 0.15
MAX_COLOURS = 2
# Mean of the per-channel standard deviations (0-255) above which the image is "patterned".
# One colour, even through JPEG, stays within a few units; two-colour stripes or checks are
# far above it (red/white: ~85). A photo of a garment on a plain background may land either side.
PATTERN_STDDEV = 24.0
# Mean luminance (0-255) bounds: below DARK is "dark", above LIGHT is "light", else "mid-toned".
DARK = 96.0
LIGHT = 160.0
# Width and height within this ratio of each other make a "square" image.
SQUARE_TOLERANCE = 0.05
EXIF_ORIENTATION = 0x0112
# EXIF orientations that show the stored pixels turned a quarter (transposed, rotated 90/270).
QUARTER_TURNS = frozenset({5, 6, 7, 8})

# Named colours, sRGB. A name may appear more than once: each anchor pulls its own region (navy
# covers both the saturated web navy and the greyish navy of real cloth); shares are merged by name.
COLOUR_TABLE: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("black", (0, 0, 0)),
    ("black", (28, 28, 30)),
    ("charcoal", (62, 64, 68)),
    ("grey", (128, 128, 128)),
    ("light grey", (196, 196, 196)),
    ("white", (255, 255, 255)),
    ("cream", (245, 236, 210)),
    ("beige", (220, 200, 165)),
    ("khaki", (180, 165, 115)),
    ("camel", (193, 148, 95)),
    ("brown", (105, 65, 35)),
    ("navy", (0, 0, 128)),
    ("navy", (30, 40, 75)),
    ("blue", (0, 0, 255)),
    ("blue", (35, 85, 195)),
    ("light blue", (150, 195, 235)),
    ("teal", (0, 128, 128)),
    ("turquoise", (60, 205, 200)),
    ("mint", (170, 230, 195)),
    ("green", (0, 128, 0)),
    ("green", (40, 160, 70)),
    ("dark green", (25, 75, 45)),
    ("olive", (110, 110, 35)),
    ("yellow", (255, 220, 30)),
    ("mustard", (200, 155, 30)),
    ("orange", (245, 125, 25)),
    ("coral", (250, 128, 110)),
    ("red", (255, 0, 0)),
    ("red", (195, 25, 35)),
    ("burgundy", (115, 20, 45)),
    ("burgundy", (128, 0, 0)),
    ("pink", (245, 165, 195)),
    ("fuchsia", (220, 35, 140)),
    ("purple", (110, 40, 140)),
    ("lavender", (185, 165, 220)),
)

GENDER_WORDS = {"MALE": "men's", "FEMALE": "women's", "UNISEX": "unisex"}


@dataclass(frozen=True)
class PixelSummary:
    """What the pixels say: the ingredients of the sentences."""

    colours: tuple[str, ...]
    patterned: bool
    tone: str
    orientation: str


class LocalCaptioner:
    """Captions from the cover image's pixels and the product's fields; Pillow, no network."""

    def describe(self, request: CaptionRequest) -> Caption:
        if not request.images:
            raise CaptionFailed("no image to caption", retryable=False)
        cover = _cover(request.images)
        summary = analyse(cover.data)
        has_back = any(image.role == "back" and image is not cover for image in request.images)
        return compose(summary, request.product, has_back=has_back).bounded()


def _cover(images: Sequence[CaptionImage]) -> CaptionImage:
    return next((image for image in images if image.role == "cover"), images[0])


def analyse(data: bytes) -> PixelSummary:
    """Reads an encoded image (any format Pillow opens) into a `PixelSummary`."""
    # Imported here: Pillow is only paid for by the requests that caption.
    from PIL import Image, ImageStat

    try:
        thumb, size = _thumbnail(data)
    # Malformed input surfaces from Pillow as many types (OSError, ValueError, SyntaxError,
    # EOFError, struct.error, DecompressionBombError...): all of them mean an unusable image,
    # and another delivery of the same bytes cannot help.
    except Exception as exc:
        raise CaptionFailed("cover image is not a readable image", retryable=False) from exc

    stat = ImageStat.Stat(thumb)
    stddev = sum(stat.stddev) / len(stat.stddev)
    luminance = ImageStat.Stat(thumb.convert("L")).mean[0]

    quantized = thumb.quantize(colors=PALETTE_SIZE, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = quantized.getpalette() or []
    total = thumb.width * thumb.height
    shares: list[tuple[float, tuple[int, int, int]]] = []
    for count, index in quantized.getcolors(PALETTE_SIZE) or []:
        # A "P" image's pixel values are palette indexes (ints); Pillow's stubs cover every mode.
        assert isinstance(index, int)
        rgb = (palette[3 * index], palette[3 * index + 1], palette[3 * index + 2])
        shares.append((count / total, rgb))

    return PixelSummary(
        colours=dominant_colours(shares),
        patterned=stddev > PATTERN_STDDEV,
        tone=_tone(luminance),
        orientation=_orientation(*size),
    )


def _thumbnail(data: bytes) -> tuple[Image.Image, tuple[int, int]]:
    """The image, reduced and flattened to RGB on white, with the original (width, height)."""
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    # The orientation belongs to the original: draft() below changes `size`. A camera stores a
    # portrait shot as landscape pixels plus an EXIF orientation that turns it by 90 degrees.
    width, height = img.size
    size = (height, width) if img.getexif().get(EXIF_ORIENTATION) in QUARTER_TURNS else (width, height)
    img.draft("RGB", DRAFT)
    img.thumbnail(THUMBNAIL)
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        # Transparent pixels would otherwise count as black (their stored colour): a cut-out
        # garment is seen on white, as a shop page shows it.
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        return flat.convert("RGB"), size
    return img.convert("RGB"), size


def dominant_colours(shares: Sequence[tuple[float, tuple[int, int, int]]]) -> tuple[str, ...]:
    """Names for (share, rgb) palette entries: merged by name, largest first, at most two.

    The largest is named even under the minimum share, so a busy image still gets a colour.
    """
    merged: dict[str, float] = {}
    for share, rgb in shares:
        name = colour_name(rgb)
        merged[name] = merged.get(name, 0.0) + share
    # Ties broken by name: the order of the palette must not change the text.
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    named = [name for name, share in ranked[:MAX_COLOURS] if share >= MIN_COLOUR_SHARE]
    if not named and ranked:
        named = [ranked[0][0]]
    return tuple(named)


def colour_name(rgb: tuple[int, int, int]) -> str:
    """The table's nearest name by distance in CIELAB (closer to what the eye groups than RGB)."""
    lab = _lab(rgb)
    return min(COLOUR_TABLE, key=lambda entry: math.dist(lab, _lab(entry[1])))[0]


def _lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """sRGB (D65) to CIELAB."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))


def _tone(luminance: float) -> str:
    if luminance < DARK:
        return "dark"
    if luminance > LIGHT:
        return "light"
    return "mid-toned"


def _orientation(width: int, height: int) -> str:
    if abs(width - height) <= SQUARE_TOLERANCE * max(width, height):
        return "square"
    return "portrait" if height > width else "landscape"


def compose(summary: PixelSummary, product: Mapping[str, Any], *, has_back: bool = False) -> Caption:
    """The three texts from what the pixels say and what the product's fields say."""
    name = _field(product, "name")
    brand = _field(product, "brand")
    kind = _field(product, "type") or _field(product, "product_type")
    noun = kind.lower() if kind else (name or "garment")
    gender = GENDER_WORDS.get(_field(product, "gender").upper(), "")
    colours = _join(list(summary.colours))

    # The natural English orders: "solid navy shirt", "red and white patterned shirt".
    if summary.patterned:
        look = " ".join(word for word in (gender, colours, "patterned", noun) if word)
    else:
        look = " ".join(word for word in (gender, "solid", colours, noun) if word)
    by_brand = f" by {brand}" if brand else ""

    alt_text = _capitalised(f"{look}{by_brand}")
    caption = f"{_article(look)} {look}{by_brand}, shown in a {summary.tone} {summary.orientation} image."

    listing = []
    # The name is only repeated when the type, not the name, gave the noun.
    if name and kind:
        listing.append(f"its name as {name}")
    for key, label in (("colour", "colour"), ("materials", "materials"), ("season", "season")):
        value = _field(product, key)
        if value:
            listing.append(f"its {label} as {value}")
    sentences = [caption]
    if listing:
        sentences.append(f"The listing gives {_join(listing)}.")
    if has_back:
        sentences.append("A back view is also provided.")

    return Caption(caption=caption, alt_text=alt_text, description=" ".join(sentences))


def _field(product: Mapping[str, Any], key: str) -> str:
    """A product field as clean text; absent, empty or not text (a nested object) gives ""."""
    value = product.get(key)
    if not isinstance(value, str):
        return ""
    return " ".join(value.split())


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _article(phrase: str) -> str:
    # "a unisex", "an orange": a leading "uni" sounds like a consonant.
    lowered = phrase.lower()
    return "An" if lowered[:1] in ("a", "e", "i", "o", "u") and not lowered.startswith("uni") else "A"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
