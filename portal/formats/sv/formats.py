"""Swedish dates as the portal writes them: in prose and on invoices Django's own "j F Y"
(1 oktober 2026); in tables the shorter SHORT_DATE_FORMAT (1 okt 2026), so that the invoice
table fits as it does in English. Everything not set here is Django's "sv"."""

SHORT_DATE_FORMAT = "j b Y"  # 1 okt 2026, also on the Usage page
MONTH_DAY_FORMAT = "j b"  # 16 nov: the Usage chart's axis and its weeks (16 nov – 22 nov 2026)
