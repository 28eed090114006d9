#!/usr/bin/env python3
"""Benchmark the SECMP0107 Requirement 2 data fix at LIVE scale: the same command as
`bench/bench_datafix.py`, where the code lives (and `bench/run.py --only datafix`, which runs it in the
project's benchmark table).

    .venv/bin/python scripts/bench_datafix.py                      # SQLite, + PostgreSQL if MP107_PG_URL is set
    .venv/bin/python scripts/bench_datafix.py --runs 5 --devices 1000000 --pg-url postgresql://postgres@127.0.0.1:55432/postgres
    .venv/bin/python scripts/bench_datafix.py --devices 100000 --runs 3 --no-pg   # quick look
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from bench_datafix import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
