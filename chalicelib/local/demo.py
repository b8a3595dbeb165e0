"""A small demo catalog: a few brands, seasons and years, real images, one organization."""

from __future__ import annotations

import base64
import io
import itertools

from PIL import Image, ImageDraw

from chalicelib.schemas.products import ProductCreate
from chalicelib.schemas.users import OrganizationCreate
from chalicelib.services.access import Caller
from chalicelib.services.organizations import OrganizationService
from chalicelib.services.products import ProductService
from chalicelib.store.models import UserItem

_GARMENTS = [
    ("Black T-Shirt", "T-Shirt", (20, 20, 20)),
    ("Denim Jacket", "Jacket", (60, 90, 140)),
    ("Linen Shirt", "Shirt", (230, 225, 210)),
    ("Pleated Skirt", "Skirt", (160, 40, 60)),
    ("Wool Coat", "Coat", (110, 95, 80)),
    ("Running Sneaker", "Shoes", (240, 240, 240)),
    ("Silk Scarf", "Accessory", (200, 160, 40)),
    ("Chino Trousers", "Trousers", (190, 170, 130)),
]
_BRANDS = ["Acme Apparel", "Northwind", "Maison Verte"]
_SEASONS = ["SS", "FW", "Resort"]
_YEARS = [2024, 2025, 2026]


def garment_png(color: tuple[int, int, int], label: str) -> str:
    """A 256x320 picture of a garment-ish shape, as base64."""
    img = Image.new("RGB", (256, 320), (245, 245, 245))
    draw = ImageDraw.Draw(img)
    draw.polygon([(78, 40), (178, 40), (236, 100), (200, 130), (190, 300), (66, 300), (56, 130), (20, 100)], fill=color)
    draw.text((12, 8), label, fill=(30, 30, 30))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def seed(owner: UserItem) -> dict[str, int]:
    caller = Caller(user=owner)
    products = ProductService()
    org = OrganizationService().create(caller, OrganizationCreate(name="Sartiq Demo Studio"))
    combos = itertools.cycle(itertools.product(_BRANDS, _SEASONS, _YEARS))
    created = 0
    for index, (name, kind, color) in enumerate(_GARMENTS * 2):
        brand, season, year = next(combos)
        data = ProductCreate(
            name=name,
            sku=f"{'FILLER' if index == 7 else 'SKU'}-{1000 + index}",
            brand=brand,
            season=season,
            year=year,
            type=kind,
            brand_collection=f"{season} {year} Core",
            colour=f"rgb{color}",
            materials="100% Cotton",
            cover_image=garment_png(color, name),
            public=index % 5 == 0,
        )
        in_org = index >= len(_GARMENTS)
        products.create(caller, data, organization_id=org.id if in_org else None, demo=True)
        created += 1
    return {"products": created, "organizations": 1}
