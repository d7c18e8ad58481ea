"""`make bench`: run every benchmark and print its figures beside its baseline."""

from __future__ import annotations

import sys
import time

from benchmarks import create_to_running, events, http_api, sse, stats, workspace

SUITES = {"http": http_api.run, "start": create_to_running.run, "sse": sse.run,
          "workspace": workspace.run, "events": events.run, "stats": stats.run}


def main(names: list[str]) -> None:
    chosen = names or list(SUITES)
    unknown = [n for n in chosen if n not in SUITES]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    for name in chosen:
        t0 = time.perf_counter()
        for line in SUITES[name]():
            print(line, flush=True)
        print(f"  ({name}: {time.perf_counter() - t0:.1f} s)\n", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
