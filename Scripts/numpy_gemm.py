#!/usr/bin/env python3
"""numpy side of `mmoe-bench gemm --numpy`: an optional comparison, the project never needs Python.

Protocol (line based, so the Swift bench can interleave its own measurements with these):
  stdout first line: "READY <numpy version>" (or "ERROR <reason>" and exit status 3)
  stdin  lines:      "<m> <k> <n> <variant> <target_seconds_per_sample> [cpu]"   variant in NN NT TN TT;
                     "cpu" times by the thread's CPU time (time.thread_time) instead of the wall
                     clock, as `mmoe-bench gemm --cpu_time` does (only meaningful with one thread)
  stdout replies:    "<gflops>"  (2*m*n*k / median seconds over 7 samples, after a warm-up)
Thread count: set OPENBLAS_NUM_THREADS (and OMP/MKL_NUM_THREADS) before starting this script;
the bench does. Run by hand: `echo "256 128 256 NN 0.02" | OPENBLAS_NUM_THREADS=1 python3 numpy_gemm.py`.
"""
import sys
import time

try:
    import numpy as np
except Exception as e:  # noqa: BLE001 - any import failure means "no numpy"
    print(f"ERROR numpy not available: {e}", flush=True)
    sys.exit(3)


def measure(m, k, n, variant, target, clock=time.perf_counter):
    rng = np.random.default_rng(0)
    # Stored shapes follow the row-major contract: op(A) is m x k, op(B) is k x n.
    a = rng.random((k, m) if variant[0] == "T" else (m, k), dtype=np.float32)
    b = rng.random((n, k) if variant[1] == "T" else (k, n), dtype=np.float32)
    A = a.T if variant[0] == "T" else a
    B = b.T if variant[1] == "T" else b
    c = np.empty((m, n), dtype=np.float32)
    flops = 2.0 * m * n * k
    np.matmul(A, B, out=c)  # warm-up
    t = clock()
    np.matmul(A, B, out=c)
    once = max(clock() - t, 1e-7)
    reps = max(1, int(target / once))
    samples = []
    for _ in range(7):
        t = clock()
        for _ in range(reps):
            np.matmul(A, B, out=c)
        samples.append((clock() - t) / reps)
    samples.sort()
    return flops / samples[len(samples) // 2] / 1e9


def main():
    print(f"READY {np.__version__}", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        m, k, n = int(parts[0]), int(parts[1]), int(parts[2])
        variant = parts[3]
        target = float(parts[4]) if len(parts) > 4 else 0.02
        clock = time.thread_time if len(parts) > 5 and parts[5] == "cpu" else time.perf_counter
        print(f"{measure(m, k, n, variant, target, clock):.3f}", flush=True)


if __name__ == "__main__":
    main()
