#!/usr/bin/env python3
"""Times pandas.read_csv (the C parser, one thread) on a CSV file, for `mmoe-bench csv --pandas`.

usage: python3 Scripts/csv_bench.py FILE [ROUNDS]
Prints one JSON line: {"rows": N, "seconds": [per round], "best_seconds": S,
"best_cpu_seconds": C, "pandas": version}, C being the process's CPU time (steadier than the wall
clock on a shared machine). pandas parses without hashing or scaling; mmoe-bench's figure
includes both.
"""
import json
import sys
import time

import pandas


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    times, cpu, rows = [], [], 0
    for _ in range(rounds):
        start, cpu_start = time.perf_counter(), time.process_time()
        frame = pandas.read_csv(path, engine="c")
        cpu.append(time.process_time() - cpu_start)
        times.append(time.perf_counter() - start)
        rows = len(frame)
        del frame
    print(json.dumps({"rows": rows, "seconds": times, "best_seconds": min(times),
                      "best_cpu_seconds": min(cpu), "pandas": pandas.__version__}))


if __name__ == "__main__":
    main()
