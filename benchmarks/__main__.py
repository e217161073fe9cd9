"""`python -m benchmarks [name ...] [--quick]`: run benchmarks, print a Markdown table, write results/latest.*."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from types import ModuleType

from benchmarks import (
    api,
    backlog,
    context_codec,
    critical_path,
    hop_overhead,
    persist,
    plain_chain,
    real_run,
    scale,
    update_reuse,
)
from benchmarks.report import machine_info, markdown, write
from benchmarks.stats import Row

# Cheap ones first; scale last, because it sizes its largest round to the time that is left.
BENCHMARKS: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        context_codec,
        persist,
        update_reuse,
        hop_overhead,
        plain_chain,
        real_run,
        critical_path,
        backlog,
        api,
        scale,
    )
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], metavar="name", help=", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller scale")
    parser.add_argument("--budget-s", type=float, help="wall-time budget of the whole run (default 630, quick 300)")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    budget = args.budget_s or (300.0 if args.quick else 630.0)

    info = machine_info()
    started = time.monotonic()
    deadline = started + budget
    rows: list[Row] = []
    failures: dict[str, str] = {}
    for name in names:
        t0 = time.monotonic()
        print(f"[{time.monotonic() - started:5.0f} s] {name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(BENCHMARKS[name].run(quick=args.quick, deadline=deadline))
        except Exception as e:  # one broken benchmark is reported; the others still run
            traceback.print_exc()
            failures[name] = f"{type(e).__name__}: {e}"
        print(f"[{time.monotonic() - started:5.0f} s] {name} took {time.monotonic() - t0:.0f} s", file=sys.stderr)
    wall = time.monotonic() - started
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["benchmarks"] = names
    # Only a full run replaces latest.*, which the README quotes; a subset or --quick run goes to partial.*.
    full = set(names) == set(BENCHMARKS) and not args.quick
    path = write(rows, info, wall, failures, stem="latest" if full else "partial")
    print(markdown(rows, info, wall, failures))
    print(f"wrote {path} and {path.with_suffix('.json')}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
