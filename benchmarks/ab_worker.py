"""Two checkouts' campaign workers, back to back: single no-op run latency and worker CPU per run.

`python -m benchmarks.ab_worker PATH_A PATH_B [--rounds 4] [--runs 30]` starts a prefork `-c 2` worker from each
checkout in turn (its own code: cwd and PYTHONPATH), on one throwaway database and Redis, and sends `runs` no-op
runs one after another; rounds alternate who goes first. It prints one line per round and the medians. It asserts
nothing and writes no results file: it is for before/after figures measured on the same machine and load.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from pathlib import Path

from benchmarks.harness import Worker, client_app, services, start_run, wait_runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="checkout A (its worker runs its own code)")
    parser.add_argument("b", type=Path, help="checkout B")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=30, help="runs per worker per round, one at a time")
    args = parser.parse_args(argv)
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    latency: dict[str, list[float]] = {k: [] for k in trees}
    cpu: dict[str, list[float]] = {k: [] for k in trees}
    with services("ab") as svc, svc.connect() as conn:
        client = client_app(svc.redis_url)
        tenant = uuid.uuid4()
        for r in range(args.rounds):
            for k in list(trees) if r % 2 == 0 else list(trees)[::-1]:
                with Worker(svc, root=trees[k]).start(client) as worker:  # its checkout's code, not this one's
                    wait_runs(conn, [start_run(client, tenant) for _ in range(3)])  # warm-up
                    cpu_before, times = worker.cpu_s(), []
                    for _ in range(args.runs):
                        t0 = time.perf_counter()
                        times.append((wait_runs(conn, [start_run(client, tenant)]) - t0) * 1000)
                    cpu[k].append((worker.cpu_s() - cpu_before) * 1000 / args.runs)
                    latency[k].append(statistics.median(times))
            print(f"round {r}: latency ms", {k: round(v[-1], 1) for k, v in latency.items()},
                  "cpu ms/run", {k: round(v[-1], 1) for k, v in cpu.items()}, flush=True)  # fmt: skip
        client.close()
    for k, tree in trees.items():
        print(f"{k} {tree}: median latency {statistics.median(latency[k]):.1f} ms, "
              f"worker CPU {statistics.median(cpu[k]):.1f} ms per run")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
