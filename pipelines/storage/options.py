"""``S3Options``: every knob of ``S3Store``, validated once, secrets kept out of ``repr``."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.storage.checksum import SUPPORTED_ALGORITHMS
from pipelines.storage.errors import StorageConfigError

__all__ = ["MiB", "S3Options"]

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
