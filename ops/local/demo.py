"""A small demo catalog: a few brands, seasons and years, real images, one organization."""

from __future__ import annotations

import base64
import io
import itertools

from PIL import Image, ImageDraw

from chalicelib.schemas.enums import PredictionStatus, PushStatus, RevisionSource, ShotStatus
from chalicelib.schemas.generations import GenerationCreate, PredictionUpdate, RefineCreate, SelectedShotRequest
from chalicelib.schemas.products import ProductCreate
from chalicelib.schemas.shootings import (
    PushRecordCreate,
    PushRecordUpdate,
    RevisionImageInput,
    ShootingCreate,
    ShootingLookCreate,
    ShotCreate,
    ShotRevisionCreate,
    ShotUpdate,
)
from chalicelib.schemas.users import OrganizationCreate
from chalicelib.services.access import Caller
from chalicelib.services.generations import GenerationService
from chalicelib.services.organizations import OrganizationService
from chalicelib.services.products import ProductService
from chalicelib.services.shootings import ShootingService
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


def model_shot_png(color: tuple[int, int, int], label: str) -> str:
    """A 320x480 'model shot': a figure wearing the garment's colour, as base64."""
    img = Image.new("RGB", (320, 480), (232, 228, 220))
    draw = ImageDraw.Draw(img)
    draw.ellipse([(130, 30), (190, 90)], fill=(205, 170, 140))
    draw.polygon([(100, 100), (220, 100), (240, 300), (80, 300)], fill=color)
    draw.rectangle([(110, 300), (150, 450)], fill=(50, 50, 60))
    draw.rectangle([(170, 300), (210, 450)], fill=(50, 50, 60))
    draw.text((10, 10), label, fill=(30, 30, 30))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


# One shot per status, and what happens to it: a revision (with an image), then the status.
_SHOTS = [
    ("full-body-front", None, None),
    ("full-body-back", "GENERATING", False),
    ("half-body-front", "TO_REVIEW", True),
    ("close-up", "APPROVED", True),
    ("detail", "REJECTED", True),
]


def seed_shootings(caller: Caller, product_ids: list[str], colors: list[tuple[int, int, int]]) -> int:
    """A shooting whose looks hold shots in every status, approved revisions with real images in
    S3 and push records, so that every read endpoint shows something."""
    service = ShootingService()
    shooting = service.create_shooting(caller, ShootingCreate(name="Demo shooting SS26"), None)
    looks = 0
    for index, product_id in enumerate(product_ids[:3]):
        outfit = [p for p in product_ids[:4] if p != product_id][:2]
        look = service.create_look(
            caller,
            shooting.id,
            ShootingLookCreate.model_validate(
                {"product_id": product_id, "outfit_product_ids": outfit, "outfit_instruction": "Styled casual"}
            ),
        )
        looks += 1
        for shot_type, status, with_image in _SHOTS[: 5 - index]:
            _, shot = service.add_shot(caller, look.id, ShotCreate(shot_type=shot_type))
            if with_image:
                image = model_shot_png(colors[index], f"{shot_type} v1")
                revision, _ = service.add_revision(
                    caller, shot["id"], ShotRevisionCreate(images=[RevisionImageInput(image=image)])
                )
                if status == "APPROVED":
                    record = service.add_push_record(
                        caller, shot["id"], revision["id"], PushRecordCreate(integration_id=shooting.id)
                    )
                    service.update_push_record(
                        caller,
                        shot["id"],
                        revision["id"],
                        record["id"],
                        PushRecordUpdate(push_status=PushStatus.IN_PROGRESS),
                    )
            if status is not None:
                service.update_shot(caller, shot["id"], ShotUpdate(status=ShotStatus(status)))
    seed_generations(caller, service, product_ids[0], colors[0])
    return looks


def seed_generations(caller: Caller, shootings: ShootingService, product_id: str, color: tuple[int, int, int]) -> None:
    """A generation of three predictions: one succeeded (with a refine, selected, and made a
    shot revision), one failed, one pending."""
    generations = GenerationService()
    generation = generations.create(
        caller, GenerationCreate.model_validate({"product_id": product_id, "batch_size": 3}), None
    )
    done, failed, _pending = (str(p.id) for p in generation.predictions)
    generations.update_prediction(
        caller,
        done,
        PredictionUpdate(
            status=PredictionStatus.SUCCEEDED, result_image=model_shot_png(color, "prediction"), shot_type="full-body"
        ),
    )
    generations.update_prediction(
        caller, failed, PredictionUpdate(status=PredictionStatus.FAILED, error_message="The model timed out")
    )
    generations.add_refine(
        caller,
        done,
        RefineCreate(status=PredictionStatus.SUCCEEDED, result_image=model_shot_png(color, "refined"), scale_factor=2),
    )
    generations.select_shot(
        caller,
        product_id,
        SelectedShotRequest.model_validate({"product_id": product_id, "shot_type": "full-body", "prediction_id": done}),
        None,
    )
    look = shootings.repo.looks_of_product(product_id)[0]
    _, shot = shootings.add_shot(caller, look.id, ShotCreate(shot_type="full-body-generated"))
    shootings.add_revision(
        caller,
        shot["id"],
        ShotRevisionCreate(
            images=[
                RevisionImageInput.model_validate({"source_type": RevisionSource.PREDICTION, "prediction_id": done})
            ]
        ),
    )


def seed(owner: UserItem) -> dict[str, int]:
    caller = Caller(user=owner)
    products = ProductService()
    org = OrganizationService().create(caller, OrganizationCreate(name="Sartiq Demo Studio"))
    combos = itertools.cycle(itertools.product(_BRANDS, _SEASONS, _YEARS))
    created = 0
    personal: list[str] = []
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
        item = products.create(caller, data, organization_id=org.id if in_org else None, demo=True)
        if not in_org:
            personal.append(item.id)
        created += 1
    looks = seed_shootings(caller, personal, [color for _, _, color in _GARMENTS])
    return {"products": created, "organizations": 1, "looks": looks}
