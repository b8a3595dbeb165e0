"""A ZIP archive streamed into an S3 multipart upload, whose writing can stop and resume later.

Python's `zipfile` writes the archive (stored members, ZIP64 where needed, data descriptors as
it does on a stream it cannot seek); it writes into `MultipartSink`, which sends every 8 MiB as
one part of a multipart upload, so neither memory nor /tmp ever holds the archive.

Why not stream-zip or zipstream-ng: an export may outlive one Lambda invocation, and neither can
carry on an archive in another process. A zipfile archive's whole state is its member list
(name, offset, CRC, sizes: the central directory written at the end) plus the offset reached:
`ResumableZip.state()` saves it at a member boundary, with the multipart upload's id, its parts
and the bytes not yet sent as a part (the tail: S3 takes parts of 5 MiB and more), and
`ResumableZip.resume()` carries on writing the same archive, in any process.
"""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

# S3's minimum part is 5 MiB (all parts but the last); bigger parts mean fewer requests.
PART_BYTES = 8 * 1024 * 1024

_INFO_SLOTS = [name for name in zipfile.ZipInfo.__slots__ if name not in {"_raw_time"}]


@dataclass
class UploadState:
    upload_id: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    offset: int = 0


class MultipartSink(io.RawIOBase):
    """A write-only, tell-able, non-seekable stream into one S3 multipart upload."""

    def __init__(self, s3: Any, bucket: str, key: str, state: UploadState, tail: bytes = b"") -> None:
        super().__init__()
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.upload = state
        self.buffer = bytearray(tail)
        self.parts_sent = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self.upload.offset

    def seek(self, offset: int, whence: int = 0) -> int:
        raise OSError("an S3 multipart upload cannot seek")

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.buffer += chunk
        self.upload.offset += len(chunk)
        while len(self.buffer) >= PART_BYTES:
            self._send(bytes(self.buffer[:PART_BYTES]))
            del self.buffer[:PART_BYTES]
        return len(chunk)

    def flush(self) -> None:
        """Nothing: parts go when full (zipfile flushes after every member)."""

    def _send(self, body: bytes) -> None:
        number = len(self.upload.parts) + 1
        answer = self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload.upload_id, PartNumber=number, Body=body
        )
        self.upload.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.parts_sent += 1

    def complete(self) -> None:
        if self.buffer or not self.upload.parts:
            self._send(bytes(self.buffer))
            self.buffer.clear()
        self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload.upload_id,
            MultipartUpload={"Parts": self.upload.parts},
        )


def _info_to_json(info: zipfile.ZipInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _INFO_SLOTS:
        value = getattr(info, name, None)
        out[name] = {"b64": base64.b64encode(value).decode()} if isinstance(value, bytes) else value
    return out


def _info_from_json(data: dict[str, Any]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(data["filename"], tuple(data["date_time"]))
    for name in _INFO_SLOTS:
        value = data.get(name)
        if isinstance(value, dict) and "b64" in value:
            value = base64.b64decode(value["b64"])
        if name == "date_time" and value is not None:
            value = tuple(value)
        setattr(info, name, value)
    return info


class ResumableZip:
    """A stored (uncompressed: images are compressed already) ZIP64-capable archive into `sink`."""

    def __init__(self, sink: MultipartSink, members: list[zipfile.ZipInfo] | None = None) -> None:
        self.sink = sink
        self.zip = zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)
        for info in members or []:
            self.zip.filelist.append(info)
            self.zip.NameToInfo[info.filename] = info

    def add(self, name: str, data: bytes, date_time: tuple[int, int, int, int, int, int]) -> None:
        info = zipfile.ZipInfo(name, date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        self.zip.writestr(info, data)

    def state(self) -> dict[str, Any]:
        """What `resume` needs, at a member boundary (the tail bytes are kept apart)."""
        return {
            "upload_id": self.sink.upload.upload_id,
            "parts": list(self.sink.upload.parts),
            "offset": self.sink.upload.offset,
            "members": [_info_to_json(info) for info in self.zip.filelist],
        }

    @classmethod
    def resume(cls, s3: Any, bucket: str, key: str, state: dict[str, Any], tail: bytes) -> ResumableZip:
        upload = UploadState(upload_id=state["upload_id"], parts=list(state["parts"]), offset=int(state["offset"]))
        sink = MultipartSink(s3, bucket, key, upload, tail)
        return cls(sink, [_info_from_json(m) for m in state["members"]])

    def finish(self) -> None:
        """Write the central directory and complete the upload."""
        self.zip.close()
        self.sink.complete()

    def abandon(self) -> None:
        """Stop without writing the end records (a checkpoint, a cancel): the archive goes on later
        from the saved state, or its upload is aborted."""
        self.zip._didModify = False  # type: ignore[attr-defined]
        self.zip.fp = None
