"""The media ingest worker: time per image against Pillow's own open+verify, and calls per message.

Run: `cd /work/main && .venv/bin/python -m bench.ingest [--repeat 5]`

In-process on moto, as the tests run. For each image (JPEG, PNG and WebP at three sizes, made
here), an upload record is created and the object put under the uploads prefix; the S3 event is
handed to the worker's handler (`chalicelib.workers.media.handle`) as an SQS batch of one, and
every AWS call it makes is counted by a botocore hook. Printed, per image:

- worker: the handler's time for the message (median of --repeat fresh uploads), and its ratio
  to Pillow's `Image.open(...).verify()` of the same bytes (the floor: what any check costs);
- inspect: `examine_image` alone (what the worker adds to that floor: decoding, the dominant
  colour), and its ratio to the floor;
- decode: Pillow's full decode (`Image.open(...).load()`), and the worker's ratio to it. JPEG's
  `verify()` reads only the headers, so for JPEG the open+verify floor is nearly free and the
  first ratio large: a truncated JPEG is found only by decoding, which the worker must do.
- the calls per message, by service and operation.

Wall-clock times are reported, never asserted; moto's in-process calls are part of the worker's
time, so the worker ratio overstates what a Lambda against real S3 and DynamoDB pays in CPU.
"""

from __future__ import annotations

from tests.support import environment

environment.apply()

import argparse
import io
import statistics
import time
import uuid
from collections import Counter
from typing import Any

import botocore.handlers
from moto import mock_aws
from PIL import Image

_calls: Counter[str] = Counter()


def _count(model: Any = None, **_: Any) -> None:
    _calls[f"{model.service_model.service_name}:{model.name}"] += 1


def _photo(size: tuple[int, int], seed: int) -> Image.Image:
    """A photo-like image (smooth gradients plus noise): compresses as photos do, not as a flat fill."""
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40 + seed)
    red = Image.blend(gradient, noise, 0.3)
    return Image.merge("RGB", (red, gradient.rotate(90).resize(size), noise))


def _encode(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **({"quality": 88} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def _median_seconds(action: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _count))
    with mock_aws():
        from chalicelib.config import get_settings
        from chalicelib.schemas.common import iso, utcnow
        from chalicelib.services.media import examine_image
        from chalicelib.store.blobs import s3_client, upload_key
        from chalicelib.store.media import MediaRepository
        from chalicelib.store.models import MediaItem
        from chalicelib.workers import media
        from ops.local.resources import create_resources
        from tests.support.sqs import s3_event_message, synthetic_event

        get_settings.cache_clear()
        settings = get_settings()
        create_resources()
        repo = MediaRepository()
        s3 = s3_client()
        content_types = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

        def one_message(data: bytes, fmt: str) -> tuple[float, Counter[str]]:
            media_id = str(uuid.uuid4())
            key = upload_key(media_id)
            repo.create_upload(
                MediaItem(
                    id=media_id,
                    owner_id="bench",
                    key=key,
                    created_at=iso(utcnow()),
                    status="PENDING",
                    declared_type=content_types[fmt],
                    declared_size=len(data),
                )
            )
            etag = s3.put_object(Bucket=settings.images_bucket, Key=key, Body=data)["ETag"]
            event = synthetic_event([s3_event_message(settings.images_bucket, key, etag, len(data))])
            _calls.clear()
            start = time.perf_counter()
            answer = media.handle(event)
            elapsed = time.perf_counter() - start
            calls = Counter(_calls)
            assert not answer["batchItemFailures"], answer
            stored = repo.get(media_id)
            assert stored is not None and stored.status == "READY", stored
            return elapsed, calls

        print(
            f"{'image':<18}{'bytes':>9}{'worker ms':>11}{'floor ms':>10}{'worker/floor':>14}"
            f"{'inspect/floor':>15}{'decode ms':>11}{'worker/decode':>15}"
        )
        all_calls: Counter[str] = Counter()
        messages = 0
        for fmt in ("JPEG", "PNG", "WEBP"):
            for size in ((640, 480), (2000, 1500), (4000, 3000)):
                data = _encode(_photo(size, 0), fmt)
                label = f"{fmt} {size[0]}x{size[1]}"
                if len(data) > settings.max_image_bytes:
                    print(f"{label:<18}{len(data):>9}  over MAX_IMAGE_BYTES: refused, not measured")
                    continue

                def floor(data: bytes = data) -> None:
                    with Image.open(io.BytesIO(data)) as img:
                        img.verify()

                def decode(data: bytes = data) -> None:
                    with Image.open(io.BytesIO(data)) as img:
                        img.load()

                floor_s = _median_seconds(floor, args.repeat)
                decode_s = _median_seconds(decode, args.repeat)
                inspect_s = _median_seconds(lambda data=data: examine_image(data), args.repeat)
                runs = [one_message(data, fmt) for _ in range(args.repeat)]
                worker_s = statistics.median(r[0] for r in runs)
                for _, calls in runs:
                    all_calls.update(calls)
                    messages += 1
                print(
                    f"{label:<18}{len(data):>9}{worker_s * 1000:>11.1f}{floor_s * 1000:>10.2f}"
                    f"{worker_s / floor_s:>14.1f}{inspect_s / floor_s:>15.1f}"
                    f"{decode_s * 1000:>11.1f}{worker_s / decode_s:>15.2f}"
                )
        print(f"\nAWS calls per message (mean of {messages}):")
        for name, count in sorted(all_calls.items()):
            print(f"  {name:<32}{count / messages:.2f}")
        print(f"  {'total':<32}{sum(all_calls.values()) / messages:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
