"""`manage.py import_usage FILE`: load usage records from a CSV or JSON Lines file (or `-`,
standard input), streaming, in batches of 5,000, with the ingest API's rules.

One difference from the API, on purpose: the API refuses a whole batch for one bad record (the
sender fixes it and sends the batch again), while a file of millions of lines would never get
in that way. Here an invalid line is reported by its line number and field and skipped, and the
valid lines around it are stored. The command ends with `accepted N, duplicates D, rejected R`
and exits with status 1 when anything was rejected. Importing the same file again stores
nothing new (every id is then a duplicate); a line reusing an id with other content is
rejected, the record first received stays.

Records must start within the ingest API's window (the last USAGE_ACCEPT_DAYS days) unless
`--backfill` is given, which takes older ones and ends by naming the months it changed for each
customer: usage of a month already invoiced is on no invoice, so these are the months to check.
"""

import csv
import datetime
import sys
import time
from collections import Counter
from collections.abc import Iterator
from itertools import batched
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Customer
from usage.ingest import ingest_valid_records
from usage.validation import FIELDS, REQUIRED, parse_json

BATCH_SIZE = 5_000
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# A line as read: its number, and the record it holds or why it holds none.
Line = tuple[int, object, str | None]


class Command(BaseCommand):
    help = (
        "Load usage records from a CSV file (a header row naming the record's fields: "
        f"{', '.join(FIELDS)}) or JSON Lines (one record object a line); - reads standard input."
    )
    stealth_options = ("stdin",)  # tests hand in a stream

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .csv, .jsonl or .ndjson file, or - for standard input")
        parser.add_argument(
            "--format", choices=sorted(set(FORMATS.values())), help="needed for standard input"
        )
        parser.add_argument(
            "--backfill",
            action="store_true",
            help="take records older than the last USAGE_ACCEPT_DAYS days, and name the months "
            "changed",
        )

    def handle(self, *args, file: str, format: str | None, backfill: bool, **options):
        file_format = format or self._format_of(file)
        if file == "-":
            stream, size = options.get("stdin") or sys.stdin.buffer, None
        else:
            try:
                stream, size = open(file, "rb"), Path(file).stat().st_size  # noqa: SIM115
            except OSError as exc:
                raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        accepted = duplicates = rejected = 0
        months: Counter[tuple[int, datetime.date]] = Counter()
        started = time.monotonic()
        reader = LineReader(stream)
        parse = read_csv if file_format == "csv" else read_json_lines
        with stream, self._progress(size) as progress:
            for batch in batched(parse(reader), BATCH_SIZE):
                problems = [(number, None, problem) for number, _, problem in batch if problem]
                good = [(number, value) for number, value, problem in batch if not problem]
                result, errors = ingest_valid_records(
                    [value for _, value in good], backfill=backfill
                )
                months.update(result.months)
                problems += [(good[e["index"]][0], e["field"], e["error"]) for e in errors]
                accepted += result.accepted
                duplicates += result.duplicates
                rejected += len({number for number, _, _ in problems})
                self._report(sorted(problems, key=lambda p: p[0]), progress)
                progress.update(reader.bytes_read - progress.n)
                rate = (accepted + duplicates + rejected) / max(time.monotonic() - started, 1e-9)
                progress.set_postfix_str(f"{rate:,.0f} records/s")
        self.stdout.write(f"accepted {accepted}, duplicates {duplicates}, rejected {rejected}")
        if backfill:
            self._report_months(months)
        if rejected:
            raise CommandError(f"{rejected} record(s) rejected; their lines are listed above.")

    def _report_months(self, months: Counter[tuple[int, datetime.date]]) -> None:
        """`months changed: C-10001 2026-08 (720 records), 2026-09 (744 records)`, a line per
        customer, or that none changed."""
        if not months:
            self.stdout.write("months changed: none")
            return
        numbers = dict(
            Customer.objects.filter(pk__in={c for c, _ in months}).values_list("pk", "number")
        )
        by_customer: dict[str, list[str]] = {}
        for (customer, month), count in sorted(months.items()):
            by_customer.setdefault(numbers[customer], []).append(
                f"{month:%Y-%m} ({count} {'record' if count == 1 else 'records'})"
            )
        for number in sorted(by_customer):
            self.stdout.write(f"months changed: {number} {', '.join(by_customer[number])}")

    def _format_of(self, file: str) -> str:
        if file != "-" and (found := FORMATS.get(Path(file).suffix.lower())):
            return found
        raise CommandError(
            f"Cannot tell the format of {file}: name it .csv or .jsonl, or say --format."
        )

    def _progress(self, size: int | None) -> tqdm:
        # On the terminal only (tqdm turns itself off when stderr is not one).
        return tqdm(
            total=size, unit="B", unit_scale=True, unit_divisor=1024, desc="Importing", disable=None
        )

    def _report(self, problems: list[tuple[int, str | None, str]], progress: tqdm) -> None:
        if not problems:
            return
        with progress.external_write_mode():
            for number, field, message in problems:
                where = f"line {number}, {field}" if field else f"line {number}"
                self.stderr.write(f"{where}: {message}")


class LineReader:
    """A binary stream's lines as text, numbered from 1, counting the bytes read. Bytes that
    are not UTF-8 become lone surrogates, which no field accepts: the line is reported."""

    def __init__(self, stream):
        self.stream = stream
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self.stream, start=1):
            self.bytes_read += len(raw)
            text = raw.decode("utf-8", errors="surrogateescape")
            yield text.removeprefix("\ufeff") if number == 1 else text


def read_csv(reader: LineReader) -> Iterator[Line]:
    """The rows after the header, as records of the fields the header names (an empty cell is
    a field left out). A header naming something else, or lacking a field, stops the import."""
    rows = csv.reader(reader)
    header = [name.strip() for name in next(rows, [])]
    unknown = [name for name in header if name not in FIELDS]
    missing = [name for name in FIELDS if name in REQUIRED and name not in header]
    if unknown or missing or not header:
        raise CommandError(
            f"The CSV header must name the record's fields ({', '.join(FIELDS)}; resource is "
            f"optional). Unknown: {', '.join(unknown) or 'none'}; missing: "
            f"{', '.join(missing) or 'none'}."
        )
    while True:
        number = rows.line_num + 1  # a quoted cell may span lines: report the first
        try:
            cells = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield number, None, f"Not valid CSV: {exc}."
            continue
        if not cells:
            continue  # a blank line
        if len(cells) > len(header):
            yield number, None, "More cells than the header has columns."
            continue
        # A short row leaves the last fields out (reported as missing).
        cells = dict(zip(header, cells, strict=False))
        yield number, {name: cell for name, cell in cells.items() if cell != ""}, None


def read_json_lines(reader: LineReader) -> Iterator[Line]:
    """One JSON object a line; blank lines are skipped."""
    for number, text in enumerate(reader, start=1):
        if not text.strip():
            continue
        try:
            yield number, parse_json(text), None
        except ValueError:
            yield number, None, "Not valid JSON."
