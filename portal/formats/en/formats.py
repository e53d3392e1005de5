"""English dates as the portal writes them: day, month, year (1 Oct 2026) and 24-hour times,
in prose and in tables (SHORT_DATE_FORMAT) alike. Django's own "en" formats are American;
everything not set here is taken from them (input formats stay ISO first, which date inputs
need)."""

DATE_FORMAT = "j M Y"  # 1 Oct 2026
DATETIME_FORMAT = "j M Y, H:i"  # 1 Oct 2026, 14:30
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"  # 16 Nov: the Usage chart's axis
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
