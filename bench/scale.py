"""BENCH_SCALE: how many raw usage records the usage benchmarks write, 10 million unless told
(`BENCH_SCALE=100k make bench` for a quick run; 250k, 1M, 2.5M and plain numbers work too)."""

import os

DEFAULT = 10_000_000
SUFFIXES = {"k": 1_000, "m": 1_000_000}


class ScaleError(ValueError):
    pass


def raw_records() -> int:
    text = os.environ.get("BENCH_SCALE", "").strip().lower().replace("_", "")
    if not text:
        return DEFAULT
    factor = SUFFIXES.get(text[-1], 1)
    number = text[:-1] if text[-1] in SUFFIXES else text
    try:
        count = int(float(number) * factor)
    except ValueError:
        raise ScaleError(
            f"BENCH_SCALE={text!r}: give a number of records, e.g. 100k or 10M."
        ) from None
    if count < 10_000:
        raise ScaleError(
            f"BENCH_SCALE={text!r}: at least 10k records, for the figures to mean anything."
        )
    return count


def label(count: int) -> str:
    """10M, 2.5M, 100k."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:g}M"
    return f"{count / 1_000:g}k"
