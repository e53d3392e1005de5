"""Benchmarks for `make bench` (see DESIGN.md, "Benchmarks"). Never collected by pytest.

Each area module exposes `run() -> list[dict]`; `python -m bench` runs them all against a
throwaway database and prints the table.
"""
