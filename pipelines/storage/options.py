"""``S3Options``: every knob of ``S3Store``, validated once, secrets kept out of ``repr``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pipelines.storage.checksum import SUPPORTED_ALGORITHMS
from pipelines.storage.errors import StorageConfigError

__all__ = ["MiB", "S3Options", "SettingsLike", "s3_options"]

MiB = 1024 * 1024
_MIN_PART = 5 * MiB


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Options:
    """How to talk to S3. Everything is optional: boto3's defaults and chain apply.

    ``endpoint_url`` unset lets boto3 read ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``
    itself. Explicit keys are for programmatic use only; the normal path is boto3's
    credential chain (environment, profile, instance role).
    """

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    addressing_style: str | None = None  # "auto", "path" or "virtual"
    use_ssl: bool = True
    verify: bool | str | None = None
    sse: str | None = None  # "AES256" or "aws:kms"
    sse_kms_key_id: str | None = None
    storage_class: str | None = None
    acl: str | None = None
    request_checksum_calculation: str | None = None  # "when_supported" / "when_required"
    checksum_algorithm: str = "SHA256"
    multipart_threshold: int = 64 * MiB
    multipart_chunksize: int = 16 * MiB
    max_concurrency: int = 4
    max_attempts: int = 5  # botocore's retries of each request ("standard" mode)
    upload_attempts: int = 4  # whole-file attempts around the managed transfer
    retry_base_delay: float = 1.0
    retry_max_delay: float = 30.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_pool_connections: int = 10
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (self.addressing_style in {None, "auto", "path", "virtual"},
             "addressing_style must be auto, path or virtual"),
            (self.sse in {None, "AES256", "aws:kms", "aws:kms:dsse"},
             "sse must be AES256, aws:kms or aws:kms:dsse"),
            (self.sse_kms_key_id is None or (self.sse or "").startswith("aws:kms"),
             "sse_kms_key_id needs sse=aws:kms"),
            (self.request_checksum_calculation in {None, "when_supported", "when_required"},
             "request_checksum_calculation must be when_supported or when_required"),
            (self.checksum_algorithm in SUPPORTED_ALGORITHMS,
             f"checksum_algorithm must be one of {', '.join(SUPPORTED_ALGORITHMS)}"),
            (self.multipart_chunksize >= _MIN_PART, "multipart_chunksize must be >= 5 MiB"),
            (self.multipart_threshold >= 1, "multipart_threshold must be positive"),
            (self.max_attempts >= 1 and self.upload_attempts >= 1,
             "max_attempts and upload_attempts must be >= 1"),
            ((self.aws_access_key_id is None) == (self.aws_secret_access_key is None),
             "give both aws_access_key_id and aws_secret_access_key, or neither"),
        ]
        for ok, problem in checks:
            if not ok:
                raise StorageConfigError(f"invalid S3 option: {problem}")


class SettingsLike(Protocol):
    """What :func:`s3_options` reads: Scrapy's ``BaseSettings`` has it."""

    def get(self, name: str, default: Any = None) -> Any: ...

    def getint(self, name: str, default: int = 0) -> int: ...

    def getbool(self, name: str, default: bool = False) -> bool: ...


def s3_options(settings: SettingsLike) -> S3Options:
    """S3 settings: Scrapy's ``AWS_*`` plus our ``ARCHIVE_S3_*``; unset means boto3's
    own resolution (credential chain, ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``).
    ``settings``: Scrapy's, or anything read the same way (readers skip Scrapy)."""
    def opt(name: str) -> Any:
        value = settings.get(name)
        return value if value not in (None, "") else None

    values: dict[str, Any] = {
        "endpoint_url": opt("AWS_ENDPOINT_URL"),
        "region": opt("AWS_REGION_NAME"),
        "addressing_style": opt("ARCHIVE_S3_ADDRESSING_STYLE"),
        "sse": opt("ARCHIVE_S3_SSE"),
        "sse_kms_key_id": opt("ARCHIVE_S3_SSE_KMS_KEY_ID"),
        "storage_class": opt("ARCHIVE_S3_STORAGE_CLASS"),
        "acl": opt("ARCHIVE_S3_ACL"),
        "request_checksum_calculation": opt("ARCHIVE_S3_CHECKSUM_MODE"),
        "multipart_threshold": settings.getint("ARCHIVE_S3_MULTIPART_THRESHOLD"),
        "multipart_chunksize": settings.getint("ARCHIVE_S3_MULTIPART_CHUNKSIZE"),
        "upload_attempts": settings.getint("ARCHIVE_S3_UPLOAD_ATTEMPTS"),
        "aws_access_key_id": opt("AWS_ACCESS_KEY_ID"),
        "aws_secret_access_key": opt("AWS_SECRET_ACCESS_KEY"),
        "aws_session_token": opt("AWS_SESSION_TOKEN"),
    }
    if settings.get("AWS_USE_SSL") is not None:
        values["use_ssl"] = settings.getbool("AWS_USE_SSL")
    if settings.get("AWS_VERIFY") not in (None, ""):
        verify = settings.get("AWS_VERIFY")
        values["verify"] = verify if isinstance(verify, str) and verify not in (
            "True", "False", "true", "false") else settings.getbool("AWS_VERIFY")
    return S3Options(**{k: v for k, v in values.items() if v is not None})
