#!/usr/bin/env python3
"""pyarrow side of `mmoe-bench parquet`: an optional comparison, the project never needs Python.

    python3 Scripts/parquet_bench.py time FILE_OR_FOLDER [--rounds N]
        rows/s of pyarrow.parquet.read_table(path, use_threads=False) over every part-*.parquet
        (or *.parquet) file, best and median of N rounds; one JSON line on stdout.
    python3 Scripts/parquet_bench.py write-large SOURCE_FOLDER OUT.parquet [--rows N]
        writes one large file in OneFlow's Census layout (the rows of SOURCE_FOLDER/train repeated
        in a seeded shuffle up to N rows, default 3,000,000; snappy, dictionary, data page v1,
        row groups of 131,072 rows), as parquet-mr wrote the shared sample.
    python3 Scripts/parquet_bench.py write-folder SOURCE_FOLDER OUT_DIR [--rows N] [--files F]
                                     [--row_group R] [--test_rows M]
        writes a folder in OneFlow's layout, OUT_DIR/train/part-*.snappy.parquet (N rows, default
        4,000,000, in F files, default 8, of row groups of R rows, default 131,072) and
        OUT_DIR/test/ (M rows, default 6,666; 0 copies SOURCE_FOLDER's test files), rows drawn
        with a seeded generator from SOURCE_FOLDER's splits; snappy, dictionary, data page v1;
        `_SUCCESS` files as Spark leaves them. For streaming figures: a folder whose decoded rows
        are far larger than the streamed trainer's resident budget.

Single-threaded on purpose (use_threads=False, and ARROW_IO_THREADS/OMP at 1): one core each,
as the Swift reader runs.
"""
import json
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("ARROW_IO_THREADS", "1")

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except Exception as e:  # noqa: BLE001 - any import failure means "no pyarrow"
    print(json.dumps({"error": f"pyarrow not available: {e}"}))
    sys.exit(3)

pa.set_cpu_count(1)
pa.set_io_thread_count(1)


def files(path):
    if os.path.isfile(path):
        return [path]
    found = []
    for root, _, names in os.walk(path):
        found += [os.path.join(root, n) for n in names if n.endswith(".parquet") and not n.startswith(".")]
    return sorted(found)


def time_read(path, rounds):
    paths = files(path)
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    seconds = []
    for _ in range(rounds + 1):  # the first round warms the page cache
        start = time.perf_counter()
        for p in paths:
            pq.read_table(p, use_threads=False)
        seconds.append(time.perf_counter() - start)
    seconds = seconds[1:]
    print(json.dumps({"files": len(paths), "rows": rows, "best_rows_per_s": rows / min(seconds),
                      "median_rows_per_s": rows / statistics.median(seconds), "pyarrow": pa.__version__}))


def write_large(source, out, rows):
    import numpy as np
    table = pa.concat_tables([pq.read_table(p) for p in files(os.path.join(source, "train"))])
    rng = np.random.default_rng(2019)
    index = rng.integers(0, table.num_rows, size=rows)
    big = table.take(pa.array(index))
    pq.write_table(big, out, compression="snappy", use_dictionary=True, data_page_version="1.0",
                   row_group_size=131_072, version="1.0")
    print(json.dumps({"rows": rows, "bytes": os.path.getsize(out), "path": out}))


def write_folder(source, out, rows, file_count, row_group, test_rows):
    import numpy as np
    import shutil
    rng = np.random.default_rng(2019)

    def write_split(split, total, files_in_split):
        table = pa.concat_tables([pq.read_table(p) for p in files(os.path.join(source, split))])
        folder = os.path.join(out, split)
        os.makedirs(folder, exist_ok=True)
        per_file = (total + files_in_split - 1) // files_in_split
        written = 0
        for k in range(files_in_split):
            n = min(per_file, total - written)
            if n <= 0:
                break
            part = table.take(pa.array(rng.integers(0, table.num_rows, size=n)))
            name = "part-%05d-5f0c2a9e-0000-4000-8000-000000000000-c000.snappy.parquet" % k
            pq.write_table(part, os.path.join(folder, name), compression="snappy", use_dictionary=True,
                           data_page_version="1.0", row_group_size=row_group, version="1.0")
            written += n
        open(os.path.join(folder, "_SUCCESS"), "w").close()

    write_split("train", rows, file_count)
    if test_rows > 0:
        write_split("test", test_rows, 1)
    else:
        shutil.copytree(os.path.join(source, "test"), os.path.join(out, "test"), dirs_exist_ok=True)
    size = sum(os.path.getsize(p) for p in files(out))
    print(json.dumps({"train_rows": rows, "files": file_count, "row_group": row_group, "bytes": size, "path": out}))


def main(argv):
    if len(argv) >= 2 and argv[0] == "time":
        rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 5
        time_read(argv[1], rounds)
    elif len(argv) >= 3 and argv[0] == "write-large":
        rows = int(argv[argv.index("--rows") + 1]) if "--rows" in argv else 3_000_000
        write_large(argv[1], argv[2], rows)
    elif len(argv) >= 3 and argv[0] == "write-folder":
        def option(name, default):
            return int(argv[argv.index(name) + 1]) if name in argv else default
        write_folder(argv[1], argv[2], option("--rows", 4_000_000), option("--files", 8), option("--row_group", 131_072),
                     option("--test_rows", 6_666))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
