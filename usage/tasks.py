"""Background work on usage. Thin and idempotent; the schedule is in portal/celery.py."""

from celery import shared_task

from usage import aggregation, partitions


@shared_task
def aggregate_usage() -> int:
    """Roll the records not yet counted into the daily rollup; returns how many there were.
    Two at once (a slow run overlapping the next beat) count each record once."""
    return aggregation.aggregate_usage()


@shared_task
def ensure_usage_partitions() -> list[str]:
    """Create the raw usage partitions of the coming months (PostgreSQL); returns those made."""
    return partitions.ensure_partitions()
