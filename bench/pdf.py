"""Invoice PDFs: rendering costs what WeasyPrint costs and little more, and downloading a PDF
that is already stored renders nothing."""

import datetime
import io
import time
from decimal import Decimal
from unittest import mock

import weasyprint
from pypdf import PdfReader

from bench.measure import make_customer, median, owner_client, row, timed_gets
from billing import delivery, services
from billing.pdf import invoice_html, render_invoice_pdf
from billing.services import LineSpec, utc_today

RENDER_SAMPLES = 7
DOWNLOAD_SAMPLES, DOWNLOAD_WARMUP = 50, 5
# A month of a mid-sized customer: 20 lines over 4 services.
LINES = {
    "k8s-prod-eu1": [
        ("vCPU-hours", "2160", "vCPU-h", "0.012500"),
        ("Memory", "8640.5", "GB-h", "0.004200"),
        ("Load balancer", "720", "h", "0.025000"),
        ("Persistent volumes", "500", "GB-month", "0.100000"),
        ("Bandwidth (egress)", "1234.567", "GB", "0.015000"),
    ],
    "db-primary": [
        ("vCPU-hours", "1440", "vCPU-h", "0.018000"),
        ("Memory", "5760", "GB-h", "0.005000"),
        ("Block storage", "1200", "GB-month", "0.085000"),
        ("Backups", "2400", "GB-month", "0.020000"),
        ("I/O requests", "35.2", "M-req", "0.200000"),
    ],
    "object-storage": [
        ("Standard storage", "18000", "GB-month", "0.021000"),
        ("Infrequent access", "42000", "GB-month", "0.010000"),
        ("PUT requests", "12.5", "M-req", "5.000000"),
        ("GET requests", "310.75", "M-req", "0.400000"),
        ("Bandwidth (egress)", "333.333", "GB", "0.015000"),
    ],
    "cdn-edge": [
        ("Data transfer EU", "9200", "GB", "0.008500"),
        ("Data transfer US", "4100", "GB", "0.008500"),
        ("Requests", "820", "M-req", "0.007500"),
        ("TLS certificates", "3", "cert", "20.000000"),
        ("Cache purges", "1500", "purge", "0.005000"),
    ],
}


def run() -> list[dict]:
    customer = make_customer("C-90003", "Printing Cloud AB")
    invoice = issue_invoice(customer)
    return [render_row(invoice), *download_rows(owner_client(customer), invoice)]


def issue_invoice(customer):
    """Last month's invoice, made the way production makes them: draft, lines, finalize."""
    period_end = utc_today().replace(day=1) - datetime.timedelta(days=1)
    draft = services.create_draft(
        customer=customer, period_start=period_end.replace(day=1), period_end=period_end
    )
    services.add_lines(
        invoice=draft,
        lines=[
            LineSpec(service, description, Decimal(quantity), unit, Decimal(price))
            for service, lines in LINES.items()
            for description, quantity, unit, price in lines
        ],
    )
    return services.finalize_invoice(invoice=draft, deliver=False)


def render_row(invoice) -> dict:
    """The project's render (template, line query, locked-down URL fetcher, WeasyPrint) against
    WeasyPrint alone on the same HTML, interleaved so that both see the same machine."""
    html = invoice_html(invoice)
    renders = {
        "project": lambda: render_invoice_pdf(invoice),
        "weasyprint": lambda: weasyprint.HTML(string=html).write_pdf(),
    }
    times = {name: [] for name in renders}
    pages = {}
    for sample in range(RENDER_SAMPLES + 1):
        # Each goes first every other round: neither always pays for the other's leftover garbage.
        order = list(renders) if sample % 2 else list(reversed(renders))
        for name in order:
            start = time.perf_counter()
            data = renders[name]()
            elapsed = (time.perf_counter() - start) * 1000
            # The first round loads fonts and fills WeasyPrint's caches: not counted.
            if sample:
                times[name].append(elapsed)
            pages[name] = len(PdfReader(io.BytesIO(data)).pages)
    value = median(times["project"]) / pages["project"]
    baseline = median(times["weasyprint"]) / pages["weasyprint"]
    return row(
        f"PDF render vs bare WeasyPrint ({invoice.lines.count()} lines, {pages['project']} pages)",
        value,
        "ms/page",
        baseline=baseline,
        goal="overhead < 10%",
        ok=value / baseline < 1.10,
    )


class RenderedDuringDownload(Exception):
    """Raised in place of a PDF render while a stored PDF is being downloaded."""


def download_rows(client, invoice) -> list[dict]:
    """Download a stored PDF; any render on the way raises and fails both rows."""
    delivery.store_invoice_pdf(invoice=invoice)
    path = f"/invoices/{invoice.number}/pdf/?download=1"
    # Every render ends in billing.pdf.html_to_pdf, whichever module imported the renderer.
    with mock.patch("billing.pdf.html_to_pdf", side_effect=RenderedDuringDownload) as render:
        try:
            [times] = timed_gets([client], path, samples=DOWNLOAD_SAMPLES, warmup=DOWNLOAD_WARMUP)
        except RenderedDuringDownload:
            times = None
    return [
        row(
            "PDF download, already stored: median",
            median(times) if times else None,
            "ms",
            goal="< 20 ms",
            ok=bool(times) and median(times) < 20,
        ),
        row(
            "PDF renders during those downloads",
            render.call_count,
            "renders",
            goal="= 0",
            ok=render.call_count == 0,
        ),
    ]
