"""``S3Store``: publish closed files to ``s3://bucket/prefix`` with boto3's managed transfer."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pipelines.storage.checksum import FileChecksum, file_checksum
from pipelines.storage.errors import PublishFailed, StorageUnavailable
from pipelines.storage.layout import check_key, join_key
from pipelines.storage.options import S3Options
from pipelines.storage.store import PublishResult
from pipelines.storage.uri import validate_bucket_name

__all__ = ["S3Store"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Errors a retry cannot fix: fail at once (the file stays pending for the next run).
_PERMANENT_CODES = frozenset({
    "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "InvalidBucketName",
    "NoSuchBucket", "SignatureDoesNotMatch", "InvalidStorageClass", "KMS.NotFoundException",
    "InvalidArgument", "InvalidRequest",
})


class _ChecksumMismatch(Exception):
    pass


class S3Store:
    """A bucket and key prefix; one boto3 client per store."""

    def __init__(self, bucket: str, prefix: str = "", options: S3Options | None = None,
                 ) -> None:
        import boto3  # noqa: PLC0415
        from boto3.s3.transfer import TransferConfig  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.options = options = options or S3Options()
        validate_bucket_name(bucket, self.uri)
        self._session = boto3.session.Session(
            aws_access_key_id=options.aws_access_key_id,
            aws_secret_access_key=options.aws_secret_access_key,
            aws_session_token=options.aws_session_token,
            region_name=options.region,
            profile_name=options.profile,
        )
        config_kwargs: dict[str, Any] = {
            "retries": {"max_attempts": options.max_attempts, "mode": "standard"},
            "max_pool_connections": options.max_pool_connections,
            "connect_timeout": options.connect_timeout,
            "read_timeout": options.read_timeout,
        }
        if options.addressing_style:
            config_kwargs["s3"] = {"addressing_style": options.addressing_style}
        if options.request_checksum_calculation:
            config_kwargs["request_checksum_calculation"] = options.request_checksum_calculation
            config_kwargs["response_checksum_validation"] = options.request_checksum_calculation
        self.client: Any = self._session.client(
            "s3",
            endpoint_url=options.endpoint_url,
            use_ssl=options.use_ssl,
            verify=options.verify,
            config=Config(**config_kwargs),
        )
        self._transfer_config = TransferConfig(
            multipart_threshold=options.multipart_threshold,
            multipart_chunksize=options.multipart_chunksize,
            max_concurrency=options.max_concurrency,
        )

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def endpoint(self) -> str:
        return str(self.client.meta.endpoint_url)

    def __repr__(self) -> str:
        return f"S3Store({self.uri!r}, endpoint={self.endpoint!r})"

    def full_key(self, key: str) -> str:
        return join_key(self.prefix, check_key(key))

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.full_key(key)}"

    def _key_hint(self) -> str:
        """The access key id as a 4-character prefix, for messages (never the secret)."""
        try:
            creds = self._session.get_credentials()
        except Exception:  # a hint only: never fail on it
            return "no credentials"
        if creds is None or not creds.access_key:
            return "no credentials"
        return f"key id {creds.access_key[:4]}…"

    # -- start-up check -----------------------------------------------------------------

    def check(self) -> None:
        """head_bucket, then put and delete a marker under the prefix."""
        from botocore.exceptions import (  # noqa: PLC0415
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        marker = join_key(self.prefix, f".newsarchive-check-{uuid.uuid4().hex}")
        try:
            self.client.head_bucket(Bucket=self.bucket)
            self.client.put_object(Bucket=self.bucket, Key=marker, Body=b"ok",
                                   ChecksumAlgorithm=self.options.checksum_algorithm,
                                   **self._extra_args())
            self.client.delete_object(Bucket=self.bucket, Key=marker)
        except (NoCredentialsError, PartialCredentialsError) as exc:
            msg = (f"no usable AWS credentials for {self.uri}: set AWS_ACCESS_KEY_ID and "
                   "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or use an instance role")
            raise StorageUnavailable(msg) from exc
        except ClientError as exc:
            raise StorageUnavailable(self._client_error_message(exc)) from exc
        except BotoCoreError as exc:
            msg = f"cannot reach the S3 endpoint {self.endpoint} for {self.uri}: {exc}"
            raise StorageUnavailable(msg) from exc
        logger.info("S3 output %s is writable (endpoint %s, %s)", self.uri, self.endpoint,
                    self._key_hint())

    def _client_error_message(self, exc: Any) -> str:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in {"404", "NoSuchBucket"}:
            return (f"bucket {self.bucket!r} does not exist for {self.uri} "
                    f"(endpoint {self.endpoint})")
        if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            return (f"access denied to {self.uri} (endpoint {self.endpoint}, "
                    f"{self._key_hint()}): check the credentials and the bucket policy "
                    f"[{code or status}]")
        if code in {"301", "PermanentRedirect", "AuthorizationHeaderMalformed"}:
            return (f"{self.uri} is in another region than {self._session.region_name!r}: "
                    f"set the region [{code}]")
        return f"S3 error for {self.uri} (endpoint {self.endpoint}): {code or status} {exc}"

    # -- publish ------------------------------------------------------------------------

    def _extra_args(self) -> dict[str, str]:
        opts = self.options
        args: dict[str, str] = {}
        if opts.sse:
            args["ServerSideEncryption"] = opts.sse
        if opts.sse_kms_key_id:
            args["SSEKMSKeyId"] = opts.sse_kms_key_id
        if opts.storage_class:
            args["StorageClass"] = opts.storage_class
        if opts.acl:
            args["ACL"] = opts.acl
        return args

    def _part_size(self, size: int) -> int | None:
        """The part size the managed transfer will use, or None for a single PUT."""
        if size < self.options.multipart_threshold:
            return None
        from s3transfer.utils import ChunksizeAdjuster  # noqa: PLC0415

        return int(ChunksizeAdjuster().adjust_chunksize(self.options.multipart_chunksize,
                                                        size))

    def publish(self, local_path: Path, key: str, *, content_type: str | None = None,
                ) -> PublishResult:
        location = self.location(key)
        full_key = self.full_key(key)
        try:
            size = local_path.stat().st_size
            local = file_checksum(local_path, self.options.checksum_algorithm,
                                  self._part_size(size))
        except OSError as exc:
            msg = f"cannot read {local_path} to publish it to {location}: {exc}"
            raise PublishFailed(msg, key=key, location=location) from exc
        extra = {"ChecksumAlgorithm": self.options.checksum_algorithm, **self._extra_args()}
        if content_type:
            extra["ContentType"] = content_type

        def attempt() -> str | None:
            self.client.upload_file(str(local_path), self.bucket, full_key, ExtraArgs=extra,
                                    Config=self._transfer_config)
            return self._confirm(full_key, local)

        remote_checksum = self._with_retries(attempt, key=key, location=location)
        local_path.unlink()
        logger.info("Published %s (%d bytes, %d part(s), %s %s)", location, local.size,
                    local.parts, local.algorithm,
                    "verified" if remote_checksum else "not returned by the server")
        return PublishResult(key=key, location=location, size=local.size,
                             checksum=remote_checksum)

    def _confirm(self, full_key: str, local: FileChecksum) -> str | None:
        head = self.client.head_object(Bucket=self.bucket, Key=full_key, ChecksumMode="ENABLED")
        if head.get("ContentLength") != local.size:
            msg = (f"size mismatch after upload: {head.get('ContentLength')} bytes in the "
                   f"bucket, {local.size} on disk")
            raise _ChecksumMismatch(msg)
        remote = head.get(f"Checksum{local.algorithm}")
        if remote is not None and not local.matches(str(remote)):
            msg = f"{local.algorithm} mismatch after upload: {remote} != {local.full}"
            raise _ChecksumMismatch(msg)
        return str(remote) if remote is not None else None

    def _with_retries(self, fn: Callable[[], T], *, key: str, location: str) -> T:
        from boto3.exceptions import S3UploadFailedError  # noqa: PLC0415
        from botocore.exceptions import (  # noqa: PLC0415
            BotoCoreError,
            ClientError,
            NoCredentialsError,
        )

        opts = self.options
        for attempt in range(1, opts.upload_attempts + 1):
            try:
                return fn()
            except (S3UploadFailedError, BotoCoreError, ClientError, _ChecksumMismatch) as exc:
                permanent = isinstance(exc, NoCredentialsError) or _is_permanent(exc)
                if permanent or attempt == opts.upload_attempts:
                    msg = (f"upload of {key} to {location} failed after {attempt} "
                           f"attempt(s): {exc}")
                    raise PublishFailed(msg, key=key, location=location) from exc
                delay = min(opts.retry_max_delay, opts.retry_base_delay * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.0)
                logger.warning("Upload of %s failed (attempt %d of %d), retrying in %.1fs: %s",
                               location, attempt, opts.upload_attempts, delay, exc)
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                return False
            raise
        return True

    def abort_stale_multipart_uploads(self, older_than: timedelta) -> int:
        """Abort multipart uploads under the prefix started before ``now - older_than``."""
        cutoff = datetime.now(UTC) - older_than
        prefix = f"{self.prefix}/" if self.prefix else ""
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                initiated = upload.get("Initiated")
                if initiated is not None and initiated > cutoff:
                    continue
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                   UploadId=upload["UploadId"])
                logger.info("Aborted an incomplete multipart upload of s3://%s/%s from %s",
                            self.bucket, upload["Key"], initiated)
                aborted += 1
        return aborted


def _is_permanent(exc: BaseException) -> bool:
    """A ClientError (possibly wrapped by S3UploadFailedError) no retry can fix."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict):
            return response.get("Error", {}).get("Code") in _PERMANENT_CODES
        seen = seen.__cause__ or seen.__context__
    return False
