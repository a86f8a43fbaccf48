#!/usr/bin/env python3
"""pandas.read_csv (C engine) on a file: wall and CPU seconds per run, MB/s, peak RSS.

    python scripts/bench_pandas_read.py FILE.csv [REPEATS]

The counterpart of mixmc's Benchmarks/CSVRead for issue 14 (docs/benchmarks.md, "Input").
"""
import os
import resource
import sys
import time

import pandas as pd


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    size = os.path.getsize(path) / 1e6
    for run in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        frame = pd.read_csv(path, engine="c")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print("pandas %s run %d: read %.3f s (%.0f MB/s; CPU %.3f s, %.0f MB/s), %d rows"
              % (pd.__version__, run + 1, wall, size / wall, cpu, size / cpu, len(frame)))
        del frame
    print("pandas peak RSS %.0f MB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()
