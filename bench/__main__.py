"""Run every benchmark in bench/ (``python -m bench``), each in its own process.

Arguments after ``--`` are passed to each benchmark; ``--only NAME`` runs one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMEOUT = 30 * 60  # one benchmark may take long with --full; never forever


NOT_BENCHMARKS = {"fuzz"}  # the coverage-guided fuzzer lives here too, run on its own


def benchmarks() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py")
                  if not p.stem.startswith("_") and p.stem not in NOT_BENCHMARKS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="-- arguments for each benchmark")
    args = parser.parse_args(argv)
    extra = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    failed = []
    for name in args.only or benchmarks():
        print(f"\n=== bench.{name} ===", flush=True)
        start = time.monotonic()
        try:
            code = subprocess.run([sys.executable, "-m", f"bench.{name}", *extra],
                                  cwd=HERE.parent, timeout=TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            code = -1
            print(f"bench.{name} did not finish within {TIMEOUT} s and was stopped.")
        print(f"=== bench.{name}: exit {code} after {time.monotonic() - start:.0f} s ===", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print("Failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
