"""The demo cloud's usage (manage.py seed_demo): what each demo customer's services use, hour
by hour, deterministic for a given day; the collectors that send it, with their tokens; and
the records sent through the ingest service as the cloud would send them."""

import datetime
import itertools
import random
from decimal import Decimal

from django.db.models import Max

from accounts.models import Customer
from usage.aggregation import aggregate_usage
from usage.ingest import ingest_records
from usage.models import IngestToken, Sender, UsageRecord
from usage.pricing import HOURS_PER_MONTH
from usage.services import create_ingest_token

MONTHS_OF_USAGE = 24  # every one of them invoiced
HOURLY_DAYS = 120  # the newest days come as hourly records, older ones as daily records
BATCH = 10_000  # records per ingest call, as the API takes them

# Each customer's cloud services and what they run: (service, vCPUs, GB RAM, GB disk, GB egress
# a month). A service without vCPUs (backups) sends no CPU or memory records.
SERVICES = {
    "C-10001": [
        ("k8s-prod-eu1", 24, 96, 800, 1400),
        ("web-frontend", 8, 16, 120, 2600),
        ("db-primary", 8, 64, 1500, 90),
        ("backups", 0, 0, 6000, 40),
    ],
    "C-10002": [
        ("analytics-cluster", 32, 128, 2400, 300),
        ("api-gateway", 4, 8, 80, 900),
    ],
    "C-10003": [
        ("nordlys-web", 4, 8, 200, 500),
        ("nordlys-db", 2, 16, 400, 30),
    ],
}
# Months of usage (each invoiced) per customer; Nordlys is a newer customer.
MONTHS_OF_USAGE_OF = {"C-10003": 6}
# How busy an hour of the day is (UTC), from the night's trough to the afternoon's peak; a
# weekend day runs at WEEKEND of a weekday.
BY_HOUR = [Decimal(f) for f in (
    "0.55", "0.50", "0.48", "0.48", "0.50", "0.55", "0.65", "0.78", "0.90", "0.98", "1.00", "1.00",
    "0.98", "0.98", "1.00", "1.00", "0.97", "0.92", "0.85", "0.78", "0.72", "0.66", "0.62", "0.58",
)]  # fmt: skip
WEEKEND = Decimal("0.70")
RECORD_PLACES = Decimal("0.0001")


def month_start(day: datetime.date, months_back: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months_back
    return datetime.date(index // 12, index % 12 + 1, 1)


def _hourly_usage(customer: Customer, day: datetime.date) -> dict[tuple[str, str], list[Decimal]]:
    """What each service used of each metric in each UTC hour of `day`, by (service, metric)."""
    usage = {}
    for service, vcpus, ram, disk, egress in SERVICES[customer.number]:
        # Seeded by customer, service and day (and month), so every run makes the same figures.
        month = random.Random(f"{customer.number}:{service}:{day:%Y-%m}")
        load = Decimal(month.randint(80, 100)) / 100  # how busy the service is that month
        traffic = Decimal(month.randint(70, 130)) / 100
        stored = Decimal(disk) * Decimal(month.randint(95, 105)) / 100  # GB held that month
        daily = Decimal(random.Random(f"{customer.number}:{service}:{day}").randint(90, 110)) / 100
        week = WEEKEND if day.weekday() >= 5 else Decimal(1)
        activity = [daily * week * hour for hour in BY_HOUR]
        metrics = {
            "cpu": [vcpus * load * a for a in activity],
            "memory": [ram * load for _ in BY_HOUR],
            "storage": [stored for _ in BY_HOUR],
            "bandwidth": [egress * traffic / HOURS_PER_MONTH * a for a in activity],
        }
        for metric, hours in metrics.items():
            if any(hours):
                usage[(service, metric)] = [q.quantize(RECORD_PLACES) for q in hours]
    return usage


def _usage_records(customer: Customer, first_day: datetime.date, today: datetime.date):
    """The records the cloud would have sent for the customer from `first_day` to yesterday
    (UTC): one an hour per service and metric for the last HOURLY_DAYS days, one a day before."""
    hourly_from = today - datetime.timedelta(days=HOURLY_DAYS)
    day = first_day
    while day < today:
        midnight = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
        for (service, metric), hours in _hourly_usage(customer, day).items():
            spans = (
                [(midnight + datetime.timedelta(hours=h), 1, q) for h, q in enumerate(hours)]
                if day >= hourly_from
                else [(midnight, 24, sum(hours))]
            )
            for start, length, quantity in spans:
                yield {
                    "id": f"{service}:{metric}:{start:%Y%m%dT%H}:{length}h",
                    "customer": customer.number,
                    "service": service,
                    "metric": metric,
                    "quantity": str(quantity),
                    "start": start.isoformat(),
                    "end": (start + datetime.timedelta(hours=length)).isoformat(),
                }
        day += datetime.timedelta(days=1)


# The demo cloud's collectors: one per region, each limited to the customers it meters.
SENDERS = {"collector-se1": ["C-10001"], "collector-de1": ["C-10002"]}


def seed_senders(customers: list[Customer]) -> dict[str, tuple[Sender, str]]:
    """Each collector of SENDERS with a live token, made if it has none: {customer number:
    (its sender, the secret of a token made now, or "")}."""
    by_number = {customer.number: customer for customer in customers}
    senders = {}
    for name, numbers in SENDERS.items():
        secret = ""
        if not IngestToken.objects.live().filter(sender__name=name).exists():
            scope = [by_number[number] for number in numbers if number in by_number]
            _, secret = create_ingest_token(name=name, customers=scope)
        sender = Sender.objects.get(name=name)
        senders.update(dict.fromkeys(numbers, (sender, secret)))
    return senders


def seed_usage(
    customers: list[Customer], today: datetime.date, senders: dict[str, tuple[Sender, str]]
) -> int:
    """Two years of usage up to yesterday (UTC), sent through the ingest service as the cloud
    sends it, then counted into the daily rollup. Only days after the newest record already
    stored are sent: a re-run on the same day sends nothing. Returns how many records were new."""
    accepted = 0
    for customer in customers:
        newest = UsageRecord.objects.filter(customer=customer).aggregate(newest=Max("start"))
        first_day = (
            newest["newest"].astimezone(datetime.UTC).date() + datetime.timedelta(days=1)
            if newest["newest"]
            else month_start(today, MONTHS_OF_USAGE_OF.get(customer.number, MONTHS_OF_USAGE))
        )
        records = _usage_records(customer, first_day, today)
        while batch := list(itertools.islice(records, BATCH)):
            # Two years of history on purpose: older than the ingest API's window.
            sender = senders[customer.number][0] if customer.number in senders else None
            accepted += ingest_records(batch, sender=sender, backfill=True).accepted
    aggregate_usage()
    return accepted
