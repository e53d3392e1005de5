"""Raw usage records -> the daily rollup, in SQL, each record counted exactly once.

The cursor (AggregationCursor, one row) holds the highest record id counted so far. A run
reads the highest id that is safe to count, then rolls the records above the cursor into
DailyUsage batch by batch: one INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE per
batch, in the same transaction as the cursor's move, with the cursor row locked.

Why each record counts once:
- two runs at once: the second waits for the cursor row, then starts where the first ended;
- records that arrive while it runs: ids come from a sequence, but transactions commit in any
  order, so a record with a lower id may become visible after one with a higher id. On
  PostgreSQL every ingest holds a shared advisory lock for its whole transaction, and the
  aggregation takes it exclusively just to read the highest id: by then every record with an
  id up to it has committed (or never will), and later ingests draw higher ids. SQLite runs
  one writer at a time, so ids there commit in order;
- late records for old days simply add to their day's row; those of a month already
  invoiced (usage.models.late.ClosedMonth) are also counted, in the same statement, into
  LateUsage, which a later invoice bills. Invoicing closes a month holding the cursor row
  (pause_counting), so each record is either on the month's invoice or late usage, never both.

What cannot be counted is held, not retried forever: a record whose customer's month would
pass the bound (settings.USAGE_MONTH_QUANTITY_MAX, docs/invoicing.md "Bounds") is put aside
(HeldRecord, shown to staff) and the cursor moves past it, so one customer's runaway month
never stops the others' usage from being counted. Every run first tries the held records again
and counts those whose month now fits.
"""

import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from usage.models import (
    AggregationCursor,
    ClosedMonth,
    DailyUsage,
    HeldRecord,
    LateUsage,
    UsageRecord,
)

# SQLite sums a batch in whole millionths in 64-bit integers: a month beyond this is held there.
SQLITE_MONTH_QUANTITY_MAX = 9 * 10**12

# The advisory lock that ingests share and the aggregation takes alone (billing's Stripe
# locks use another namespace).
USAGE_LOCKS = 0x05A6E
RECORD_IDS = 1

# Records per statement: a backlog of 10 million (a day of a cloud of a few thousand
# customers) in one statement of about four seconds, which reads its records as a bare
# INSERT ... SELECT ... GROUP BY does: a sequential scan when the batch is most of the table.
# Two batches of 5,000,000 were two index scans of half the table each (0.64-0.79 of the bare
# statement, against 0.82-0.92 for one; docs/scaling.md); batches of 200,000, fifty
# statements, each a plan, a probe of the bound, a cursor move and a commit (0.63-0.77). The
# cost of the size: invoicing waits for the cursor's lock as long as a batch takes, and a
# crash redoes one batch at most.
BATCH_SIZE = 10_000_000

# Below this many ids a batch is rolled up without JIT compilation: the planner guesses one
# group per few records (a batch has one per thousand), and so a cost at which it compiles
# the statement first, half a second for a statement that runs in a tenth of that. Above it
# the compiled statement pays for itself (10 million records: 4.4 s with JIT, 5.2-5.8 s
# without).
JIT_RECORDS = 2_000_000

# SQLite holds a batch's records before rolling it up (see the module): they are left out.
NOT_HELD = "NOT EXISTS (SELECT 1 FROM usage_heldrecord h WHERE h.record_id = usage_usagerecord.id)"

# One pass over the batch's raw records on PostgreSQL: they are grouped once (`batch`), and
# the bound is checked on those groups, against what the rollup already holds for the same
# customer-months (a few rows each, through daily_usage_by_day). The customer-months beyond it
# are left out of the rollup and returned, to be held; the rest is rolled up. No record of the
# batch is held yet: records are held by the batch that passes them, and batches only go up.
ROLL_UP_POSTGRESQL = """
WITH batch AS (
    SELECT customer_id, service_id, metric, (start AT TIME ZONE 'UTC')::date AS day,
           SUM(quantity) AS quantity, COUNT(*) AS records
    FROM usage_usagerecord
    WHERE id > %(low)s AND id <= %(high)s
    GROUP BY 1, 2, 3, 4
), months AS (
    SELECT customer_id, date_trunc('month', day)::date AS month, SUM(quantity) AS quantity
    FROM batch GROUP BY 1, 2
), beyond AS (
    SELECT m.customer_id, m.month FROM months m
    WHERE m.quantity + (
        SELECT COALESCE(SUM(d.quantity), 0) FROM usage_dailyusage d
        WHERE d.customer_id = m.customer_id
          AND d.day >= m.month AND d.day < (m.month + interval '1 month')::date
    ) > %(bound)s
), counted AS (
    SELECT * FROM batch b WHERE NOT EXISTS (
        SELECT 1 FROM beyond x
        WHERE x.customer_id = b.customer_id AND x.month = date_trunc('month', b.day)::date
    )
), rolled_up AS (
    INSERT INTO usage_dailyusage (customer_id, service_id, metric, day, quantity)
    SELECT customer_id, service_id, metric, day, quantity FROM counted
    ON CONFLICT (customer_id, service_id, metric, day)
    DO UPDATE SET quantity = usage_dailyusage.quantity + EXCLUDED.quantity
), late AS (
    INSERT INTO usage_lateusage (customer_id, service_id, metric, day, quantity, counted_at)
    SELECT b.customer_id, b.service_id, b.metric, b.day, b.quantity, %(now)s
    FROM counted b JOIN usage_closedmonth c
        ON c.customer_id = b.customer_id AND c.month = date_trunc('month', b.day)::date
)
SELECT (SELECT COALESCE(SUM(records), 0) FROM counted),
       ARRAY(SELECT customer_id FROM beyond ORDER BY 1, month),
       ARRAY(SELECT month FROM beyond ORDER BY customer_id, 1)
"""

# SQLite keeps decimals as floating point numbers and stores datetimes as UTC text
# ("2026-11-20 13:00:00"), so date(start) is the UTC day. The sum is taken in whole
# millionths (exact) and every stored total is rounded to the 6 places of the column, which
# keeps daily totals exact up to 10^9.
ROLL_UP_SQLITE = f"""
INSERT INTO usage_dailyusage (customer_id, service_id, metric, day, quantity)
SELECT customer_id, service_id, metric, date(start),
       SUM(CAST(ROUND(quantity * 1000000) AS INTEGER)) / 1000000.0
FROM usage_usagerecord
WHERE id > %s AND id <= %s AND {NOT_HELD}
GROUP BY 1, 2, 3, 4
ON CONFLICT (customer_id, service_id, metric, day)
DO UPDATE SET quantity = ROUND(usage_dailyusage.quantity + excluded.quantity, 6)
"""

# The batch's records of closed months, as late usage (the same sums).
LATE_SQLITE = f"""
INSERT INTO usage_lateusage (customer_id, service_id, metric, day, quantity, counted_at)
SELECT usage_usagerecord.customer_id, service_id, metric, date(start),
       SUM(CAST(ROUND(quantity * 1000000) AS INTEGER)) / 1000000.0, %s
FROM usage_usagerecord JOIN usage_closedmonth c
    ON c.customer_id = usage_usagerecord.customer_id AND c.month = strftime('%%Y-%%m-01', start)
WHERE usage_usagerecord.id > %s AND usage_usagerecord.id <= %s AND {NOT_HELD}
GROUP BY 1, 2, 3, 4
"""

COUNTED_SQLITE = f"SELECT COUNT(*) FROM usage_usagerecord WHERE id > %s AND id <= %s AND {NOT_HELD}"


def mark_ingest_in_flight() -> None:
    """Called by an ingest's transaction before its records take ids (see the module)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [USAGE_LOCKS, RECORD_IDS])


def pause_counting() -> None:
    """Hold the cursor row until the caller's transaction ends: no aggregation counts a record
    meanwhile (a run waits for it). Invoicing reads a month's rollup and closes the month so."""
    AggregationCursor.objects.select_for_update().get_or_create(pk=1)


def aggregate_usage(*, batch_size: int = BATCH_SIZE) -> int:
    """Roll every record not yet counted into DailyUsage, the held ones that now fit first;
    returns how many were counted."""
    upper = _settled_record_id()
    counted = _count_held_records()
    while (batch := _roll_up_next_batch(upper, batch_size)) is not None:
        counted += batch
    return counted


def _settled_record_id() -> int:
    """The highest record id up to which every record has committed."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Waits for the ingests in flight; new ones wait for this short transaction.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [USAGE_LOCKS, RECORD_IDS])
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM usage_usagerecord")
        return cursor.fetchone()[0]


def _batch_end(cursor, low: int, upper: int, batch_size: int) -> int:
    """The last id of the next batch: `batch_size` ids from the first record above `low`, or
    `upper` when fewer are left.

    Ids have gaps (a duplicate skipped by ON CONFLICT still draws one from the sequence, a
    rolled-back ingest leaves its ids unused): a batch starts at the next record, so a gap
    between batches costs one probe of the index on id, and a gap inside one makes it
    smaller. Counting the batch's records instead (an OFFSET) would read its ids twice."""
    cursor.execute("SELECT MIN(id) FROM usage_usagerecord WHERE id > %s", [low])
    first = cursor.fetchone()[0]
    return upper if first is None else min(upper, first - 1 + batch_size)


def _roll_up_next_batch(upper: int, batch_size: int) -> int | None:
    """Count the next batch of records above the cursor (up to `upper`) and move the cursor past
    them, in one transaction. None when there is nothing left to count."""
    with transaction.atomic():
        # A second run at the same time waits here, then reads where the first one ended.
        cursor_row, _ = AggregationCursor.objects.select_for_update().get_or_create(pk=1)
        low = cursor_row.last_record_id
        if low >= upper:
            return None
        with connection.cursor() as cursor:
            high = _batch_end(cursor, low, upper, batch_size)
            now = timezone.now()
            if connection.vendor == "postgresql":
                if high - low < JIT_RECORDS:
                    cursor.execute("SET LOCAL jit = off")
                # The commit need not wait for its flush to disk: a crash can lose only whole
                # batches, their rollup, held and late rows with the cursor's move, which the
                # next run counts again; and anything that read a batch (an invoice) commits
                # after it, and its own flush writes the batch's commit too.
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute(
                    ROLL_UP_POSTGRESQL,
                    {"low": low, "high": high, "bound": month_quantity_max(), "now": now},
                )
                counted, customers, months = cursor.fetchone()
                _hold(low, high, zip(customers, months, strict=True))
            else:
                _hold(low, high, _beyond_the_bound(_month_totals(_batch(low, high))))
                cursor.execute(ROLL_UP_SQLITE, [low, high])
                cursor.execute(LATE_SQLITE, [now, low, high])
                cursor.execute(COUNTED_SQLITE, [low, high])
                counted = cursor.fetchone()[0]
        cursor_row.last_record_id = high
        cursor_row.save(update_fields=["last_record_id", "updated_at"])
    return int(counted)


def month_quantity_max() -> int:
    """The most a customer's month may add up to here (docs/invoicing.md, "Bounds")."""
    if connection.vendor == "sqlite":
        return min(settings.USAGE_MONTH_QUANTITY_MAX, SQLITE_MONTH_QUANTITY_MAX)
    return settings.USAGE_MONTH_QUANTITY_MAX


def _next_month(month: datetime.date) -> datetime.date:
    return (month + datetime.timedelta(days=32)).replace(day=1)


def _counted_in(customer_ids, months) -> dict[tuple[int, datetime.date], object]:
    """What the rollup already holds for each of these customers in each of these months."""
    rows = (
        DailyUsage.objects.filter(
            customer_id__in=customer_ids, day__gte=min(months), day__lt=_next_month(max(months))
        )
        .annotate(month=TruncMonth("day"))
        .values_list("customer_id", "month")
        .annotate(quantity=Sum("quantity"))
        .order_by()
    )
    return {(customer_id, month): quantity for customer_id, month, quantity in rows}


def _month_totals(records):
    """(customer, UTC month) -> the records' total quantity."""
    rows = (
        records.annotate(month=TruncMonth("start", tzinfo=datetime.UTC))
        .values_list("customer_id", "month")
        .annotate(quantity=Sum("quantity"))
        .order_by()
    )
    return {(customer_id, _as_date(month)): quantity for customer_id, month, quantity in rows}


def _as_date(month) -> datetime.date:
    return month.date() if isinstance(month, datetime.datetime) else month


def _beyond_the_bound(totals) -> set[tuple[int, datetime.date]]:
    """The (customer, month) whose new `totals` would take the month past the bound."""
    if not totals:
        return set()
    counted = _counted_in({c for c, _ in totals}, {m for _, m in totals})
    bound = month_quantity_max()
    return {key for key, quantity in totals.items() if quantity + counted.get(key, 0) > bound}


def _batch(low: int, high: int):
    return UsageRecord.objects.filter(id__gt=low, id__lte=high)


def _hold(low: int, high: int, beyond) -> None:
    """Put aside the batch's records of each (customer, month) in `beyond`: the months they
    would take past the bound."""
    for customer_id, month in sorted(beyond):
        in_month = _batch(low, high).filter(
            customer_id=customer_id, start__gte=_utc(month), start__lt=_utc(_next_month(month))
        )
        HeldRecord.objects.bulk_create(
            HeldRecord(record_id=record_id, customer_id=customer_id, month=month)
            for record_id in in_month.values_list("id", flat=True).iterator()
        )


def _utc(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def _count_held_records() -> int:
    """Count the held records of every customer-month that now fits within the bound."""
    with transaction.atomic():
        # Under the cursor's lock: no other run counts or holds records meanwhile.
        AggregationCursor.objects.select_for_update().get_or_create(pk=1)
        held = UsageRecord.objects.filter(held__isnull=False)
        totals = _month_totals(held)
        fitting = set(totals) - _beyond_the_bound(totals)
        counted = 0
        for customer_id, month in sorted(fitting):
            records = held.filter(held__customer_id=customer_id, held__month=month)
            per_day = (
                records.annotate(day=TruncDate("start", tzinfo=datetime.UTC))
                .values_list("service_id", "metric", "day")
                .annotate(quantity=Sum("quantity"))
                .order_by()
            )
            if ClosedMonth.objects.filter(customer_id=customer_id, month=month).exists():
                LateUsage.objects.bulk_create(
                    LateUsage(customer_id=customer_id, service_id=s, metric=m, day=d, quantity=q)
                    for s, m, d, q in per_day
                )
            for service_id, metric, day, quantity in per_day:
                row, _ = DailyUsage.objects.select_for_update().get_or_create(
                    customer_id=customer_id,
                    service_id=service_id,
                    metric=metric,
                    day=day,
                    defaults={"quantity": 0},
                )
                row.quantity += quantity
                row.save(update_fields=["quantity"])
            counted += HeldRecord.objects.filter(customer_id=customer_id, month=month).delete()[0]
        return counted
