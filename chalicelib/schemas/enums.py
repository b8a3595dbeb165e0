"""Every enum of the API, once (values as decided in shared/spec/README.md)."""

from __future__ import annotations

from enum import StrEnum


class ProductGender(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"
    UNISEX = "UNISEX"


class AgeClass(StrEnum):
    ADULT = "ADULT"
    TEEN = "TEEN"
    KID = "KID"
    BABY = "BABY"


class ProductPlacement(StrEnum):
    UPPER_BODY = "UPPER_BODY"
    LOWER_BODY = "LOWER_BODY"
    FULL_BODY = "FULL_BODY"
    FEET = "FEET"
    HEAD = "HEAD"
    ACCESSORY = "ACCESSORY"


class ProductShootingStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    TO_REVIEW = "TO_REVIEW"
    APPROVED = "APPROVED"


# The listing filter takes the same values as the product-level status.
ShotStatusFilter = ProductShootingStatus


class MediaResourceType(StrEnum):
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"


class CreateMode(StrEnum):
    BASIC = "basic"
    COMPLETE = "complete"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class ProductSortField(StrEnum):
    NAME = "name"
    SEASON = "season"
    YEAR = "year"
    GENDER = "gender"
    PRODUCT_TYPE = "product_type"
    SHOT_STATUS = "shot_status"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


class MemberRole(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


class InvitationStatus(StrEnum):
    """Only pending invitations are stored; the others are what accepting and declining answer."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class StoredRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class TaskStatus(StrEnum):
    """A background task's state (captioning, later exports); the last three are terminal."""

    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    PROCESSING = "PROCESSING"
    RETRYING = "RETRYING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class MediaStatus(StrEnum):
    """An upload's state: PENDING until the ingest worker has inspected the object."""

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"


class ShotStatus(StrEnum):
    PENDING = "PENDING"
    GENERATING = "GENERATING"
    TO_REVIEW = "TO_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ShootingLookStatus(StrEnum):
    DRAFT = "DRAFT"
    READY = "READY"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class RevisionSource(StrEnum):
    PREDICTION = "PREDICTION"
    REFINE = "REFINE"
    UPLOAD = "UPLOAD"


class PushStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    AWAITING_CONFIRMATION = "AWAITING_CONFIRMATION"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class GenerationStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class PredictionStatus(StrEnum):
    """Lower case, as the reference's examples write it; RefineStatus takes the same values."""

    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


RefineStatus = PredictionStatus


class GenerationType(StrEnum):
    BASE = "BASE"
    REFINE = "REFINE"
    VARIATION = "VARIATION"


class GenerationStrategy(StrEnum):
    GENERATE = "GENERATE"
    EDIT = "EDIT"


class ExportTaskType(StrEnum):
    APPROVED_SHOTS = "APPROVED_SHOTS"
