"""`manage.py import_usage`: CSV, JSON Lines and standard input, streamed in batches; bad lines
reported by number and field and skipped, the rest stored; a summary; exit 1 on rejections."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.usage.records import NOTHING, record, stored
from usage.management.commands import import_usage
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("still_now", "customers")]

HEADER = "id,customer,service,metric,quantity,start,end,resource\n"


def run(*args, stdin=None) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    options = {"stdout": out, "stderr": err}
    if stdin is not None:
        options["stdin"] = io.BytesIO(stdin)
    call_command("import_usage", *args, **options)
    return out.getvalue(), err.getvalue()


def run_failing(*args, stdin=None) -> tuple[str, str, str]:
    out, err = io.StringIO(), io.StringIO()
    options = {"stdout": out, "stderr": err}
    if stdin is not None:
        options["stdin"] = io.BytesIO(stdin)
    with pytest.raises(CommandError) as failed:
        call_command("import_usage", *args, **options)
    return out.getvalue(), err.getvalue(), str(failed.value)


def csv_line(n: int, **fields) -> str:
    r = record(n, **fields)
    return ",".join(str(r.get(f, "")) for f in HEADER.strip().split(",")) + "\n"


def jsonl(*records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_a_csv_file_is_imported(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(
        HEADER
        + csv_line(1, resource="vm-1")
        + csv_line(2, metric="storage", quantity="730")
        + csv_line(3, customer="C-20001")
    )

    out, err = run(str(path))

    assert out == "accepted 3, duplicates 0, rejected 0\n"
    assert err == ""
    assert UsageRecord.objects.get(external_id="r-1").resource == "vm-1"
    assert UsageRecord.objects.get(external_id="r-2").quantity == Decimal("730")
    assert UsageRecord.objects.get(external_id="r-3").customer.number == "C-20001"


def test_a_csv_header_in_another_order_without_resource_and_with_a_bom_is_fine(tmp_path):
    path = tmp_path / "usage.CSV"
    path.write_text(
        "\ufeffquantity,id,customer,service,metric,start,end\n"
        "2.5,r-1,C-20000,web,cpu,2026-10-20T13:00:00Z,2026-10-20T14:00:00Z\n",
        encoding="utf-8",
    )

    out, _ = run(str(path))

    assert out == "accepted 1, duplicates 0, rejected 0\n"
    assert UsageRecord.objects.get().quantity == Decimal("2.5")


def test_a_json_lines_file_is_imported(tmp_path):
    path = tmp_path / "usage.jsonl"
    path.write_text(jsonl(record(1), record(2, quantity=3), record(3, resource=None)) + "\n")

    out, err = run(str(path))

    assert out == "accepted 3, duplicates 0, rejected 0\n"
    assert err == ""
    assert UsageRecord.objects.count() == 3


def test_standard_input_needs_the_format_named(tmp_path):
    out, _ = run("-", "--format", "jsonl", stdin=jsonl(record(1), record(2)).encode())
    assert out == "accepted 2, duplicates 0, rejected 0\n"

    out, _ = run("-", "--format", "csv", stdin=(HEADER + csv_line(3)).encode())
    assert out == "accepted 1, duplicates 0, rejected 0\n"

    *_, message = run_failing("-", stdin=b"")
    assert message == "Cannot tell the format of -: name it .csv or .jsonl, or say --format."


def test_importing_the_same_file_again_stores_nothing_new(tmp_path):
    path = tmp_path / "usage.jsonl"
    path.write_text(jsonl(record(1), record(2), record(1)))

    assert run(str(path))[0] == "accepted 2, duplicates 1, rejected 0\n"
    assert run(str(path))[0] == "accepted 0, duplicates 3, rejected 0\n"
    assert UsageRecord.objects.count() == 2


def test_bad_csv_lines_are_reported_by_number_and_field_and_the_good_ones_stored(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(
        HEADER  # line 1
        + csv_line(1)  # 2
        + csv_line(2, quantity="-4")  # 3
        + "\n"  # 4: blank
        + csv_line(3, customer="C-404")  # 5
        + csv_line(4).rstrip("\n")
        + ",extra\n"  # 6: a cell too many
        + 'r-5,C-20000,"web\nfrontend",cpu,1,2026-10-20T13:00:00Z,2026-10-20T14:00:00Z,\n'  # 7-8
        + "r-6,C-20000,web,cpu,1,2026-10-20T13:00:00Z\n"  # 9: short of the end
        + csv_line(7, start="2026-10-20 13:00")  # 10
        + csv_line(8)  # 11
    )

    out, err, message = run_failing(str(path))

    assert err.splitlines() == [
        "line 3, quantity: Must not be negative.",
        "line 5, customer: Unknown customer C-404.",
        "line 6: More cells than the header has columns.",
        "line 7, service: Must be printable UTF-8 text, without control characters.",
        "line 9, end: This field is required.",
        "line 10, start: Needs a time zone, such as Z or +01:00.",
    ]
    assert out == "accepted 2, duplicates 0, rejected 6\n"
    assert message == "6 record(s) rejected; their lines are listed above."
    assert sorted(UsageRecord.objects.values_list("external_id", flat=True)) == ["r-1", "r-8"]


def test_bad_json_lines_are_reported_by_number(tmp_path):
    path = tmp_path / "usage.ndjson"
    path.write_bytes(
        (
            jsonl(record(1))  # 1
            + "{not json\n"  # 2
            + "\n"  # 3: blank
            + '["r-2"]\n'  # 4
            + '{"id": "r-3", "quantity": NaN}\n'  # 5
            + jsonl(record(4, metric="gpu"))  # 6
        ).encode()
        + b'{"id": "r-\xff", "customer": "C-20000"}\n'  # 7: not UTF-8
        + jsonl(record(5)).encode()  # 8
    )

    out, err, _ = run_failing(str(path))

    assert err.splitlines() == [
        "line 2: Not valid JSON.",
        "line 4: Must be an object with the record's fields.",
        "line 5: Not valid JSON.",
        "line 6, metric: Unknown metric; one of cpu, memory, storage, bandwidth.",
        "line 7, id: Must be printable UTF-8 text, without control characters.",
        "line 7, service: This field is required.",
        "line 7, metric: This field is required.",
        "line 7, quantity: This field is required.",
        "line 7, start: This field is required.",
        "line 7, end: This field is required.",
    ]
    assert out == "accepted 2, duplicates 0, rejected 5\n"


def test_line_numbers_hold_across_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(import_usage, "BATCH_SIZE", 3)
    lines = [record(n) for n in range(1, 11)]
    lines[7]["quantity"] = "lots"  # line 8, in the third batch
    path = tmp_path / "usage.jsonl"
    path.write_text(jsonl(*lines))

    out, err, _ = run_failing(str(path))

    assert err == "line 8, quantity: Must be a decimal number such as 12.5.\n"
    assert out == "accepted 9, duplicates 0, rejected 1\n"


def test_the_file_is_streamed_batch_by_batch(monkeypatch):
    """Each batch is stored before the next lines are read: memory holds one batch."""
    monkeypatch.setattr(import_usage, "BATCH_SIZE", 2)
    seen_when_read = []

    class WatchedStream(io.BytesIO):
        def __iter__(self):
            for line in iter(self.readline, b""):
                seen_when_read.append(UsageRecord.objects.count())
                yield line

    stream = WatchedStream(jsonl(*(record(n) for n in range(1, 7))).encode())
    call_command("import_usage", "-", format="jsonl", stdin=stream, stdout=io.StringIO())

    assert seen_when_read == [0, 0, 2, 2, 4, 4]


def test_a_csv_header_that_does_not_name_the_fields_stops_the_import(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("id,customer,service,metric,amount,start\n" + "r-1,C-20000,web,cpu,1,x\n")

    out, _, message = run_failing(str(path))

    assert message == (
        "The CSV header must name the record's fields (id, customer, service, metric, quantity, "
        "start, end, resource; resource is optional). Unknown: amount; missing: quantity, end."
    )
    assert stored() == NOTHING


@pytest.mark.parametrize("name", ["usage.txt", "usage.json", "usage"])
def test_a_file_of_unknown_format_is_refused(tmp_path, name):
    path = tmp_path / name
    path.write_text(jsonl(record(1)))

    *_, message = run_failing(str(path))

    assert message.startswith(f"Cannot tell the format of {path}")
    assert stored() == NOTHING


def test_a_missing_file_is_named(tmp_path):
    *_, message = run_failing(str(tmp_path / "nowhere.csv"))

    assert message == f"Cannot read {tmp_path / 'nowhere.csv'}: No such file or directory."


# ---- The accepted window and --backfill ----


def old(n: int, day: str, customer: str = "C-20000") -> str:
    return csv_line(n, customer=customer, start=f"{day}T10:00:00Z", end=f"{day}T11:00:00Z")


def test_a_record_older_than_the_window_is_refused_without_backfill(tmp_path):
    path = tmp_path / "usage.csv"
    # 35 days before noon on 22 November: from noon on 18 October.
    path.write_text(HEADER + csv_line(1) + old(2, "2026-10-18") + old(3, "2026-08-31"))

    out, err, failed = run_failing(str(path))

    assert out == "accepted 1, duplicates 0, rejected 2\n"
    message = (
        "Is more than 35 days ago; older usage is loaded with `manage.py import_usage --backfill`."
    )
    assert err == f"line 3, start: {message}\nline 4, start: {message}\n"
    assert sorted(UsageRecord.objects.values_list("external_id", flat=True)) == ["r-1"]


def test_a_backfill_takes_older_records_and_names_the_months_it_changed(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(
        HEADER
        + old(1, "2026-08-31")
        + old(2, "2026-09-01")
        + old(3, "2026-09-30")
        + old(4, "2025-01-15", customer="C-20001")
        + csv_line(5)  # within the window: October
    )

    out, err = run(str(path), "--backfill")

    assert out == (
        "accepted 5, duplicates 0, rejected 0\n"
        "months changed: C-20000 2026-08 (1 record), 2026-09 (2 records), 2026-10 (1 record)\n"
        "months changed: C-20001 2025-01 (1 record)\n"
    )
    assert err == ""
    assert UsageRecord.objects.count() == 5

    out, _ = run(str(path), "--backfill")  # again: every id is a duplicate, no month changes

    assert out == "accepted 0, duplicates 5, rejected 0\nmonths changed: none\n"


def test_a_line_reusing_an_id_with_other_content_is_reported_and_the_rest_stored(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(HEADER + csv_line(1))
    run(str(path))
    path.write_text(HEADER + csv_line(1, quantity="2") + csv_line(2) + csv_line(1))

    out, err, failed = run_failing(str(path))

    assert out == "accepted 1, duplicates 1, rejected 1\n"
    assert err == "line 2, id: already received with other content\n"
    assert UsageRecord.objects.get(external_id="r-1").quantity == Decimal("1.5")
