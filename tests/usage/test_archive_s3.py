"""Archiving to an S3 bucket, as production does (USAGE_ARCHIVE_URL=s3://bucket/prefix,
through django-storages), against moto's in-process S3: the file lands in the bucket under the
prefix with the checksum recorded, and restoring reads it back and removes it."""

import gzip
import hashlib

import boto3
import pytest
from moto import mock_aws

from portal.env import storage_config
from tests.usage.archiving import FILE, MARCH, attached, invoiced, rows_of, table_exists
from usage.archive import STORAGE, ArchiveRefused, archive_month, restore_month
from usage.models import ArchivedMonth

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("postgres", "customers", "archive_clock"),
]

BUCKET = "portal-usage-archive"
KEY = f"raw-usage-prod/{FILE}"


@pytest.fixture
def bucket(settings, monkeypatch):
    """An empty bucket in moto's S3, and the archive storage pointed at it from the URL."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-north-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("USAGE_ARCHIVE_URL", f"s3://{BUCKET}/raw-usage-prod/")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
        )
        settings.STORAGES = {
            **settings.STORAGES,
            STORAGE: storage_config("USAGE_ARCHIVE_URL", default=None),
        }
        yield s3


def keys(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_a_month_goes_to_the_bucket_with_its_checksum_and_comes_back(
    bucket, march, django_capture_on_commit_callbacks
):
    invoiced()
    before = rows_of()

    archived = archive_month(MARCH)

    assert keys(bucket) == [KEY]
    content = bucket.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    assert archived.sha256 == hashlib.sha256(content).hexdigest()
    assert archived.size == len(content)
    assert gzip.decompress(content).decode().count("\n") == 1 + 3  # the header and 3 records
    assert not table_exists()

    with django_capture_on_commit_callbacks(execute=True):
        restore_month(MARCH)

    assert rows_of() == before and attached()
    assert not ArchivedMonth.objects.exists()
    assert keys(bucket) == []


def test_an_object_changed_in_the_bucket_is_refused_and_the_month_stays_archived(bucket, march):
    invoiced()
    archived = archive_month(MARCH)
    bucket.put_object(Bucket=BUCKET, Key=KEY, Body=gzip.compress(b"id\n1\n"))

    with pytest.raises(ArchiveRefused) as refused:
        restore_month(MARCH)

    assert refused.value.reason == (
        f"{FILE} does not match its SHA-256 ({archived.sha256}): the file is damaged or was "
        "changed; nothing restored"
    )
    assert not table_exists() and ArchivedMonth.objects.get() == archived
    assert keys(bucket) == [KEY]
