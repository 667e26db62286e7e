#!/usr/bin/env python3
"""Writes the Parquet, gzip and snappy fixtures of Tests/DatasetsTests/Fixtures/parquet/ with the
real tools (pyarrow, Python's zlib/gzip), so the Swift readers are tested against other writers'
bytes. CI needs no Python: the outputs are committed; rerun this to regenerate them.

    python3 Scripts/make_parquet_fixtures.py            # pip install pyarrow if it is missing
    python3 Scripts/make_parquet_fixtures.py --stream-only   # only stream/, the streaming tests' folder

Every table file holds the same 50 rows (see `table()`), in 3 row groups (20, 20, 10 rows), with
a different page version / encoding / codec each; `expected.json` has the rows as JSON for the
tests to compare with. `refused/` holds files the reader must refuse with a clear message.
"""
import gzip
import json
import os
import shutil
import sys
import zlib

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "DatasetsTests", "Fixtures", "parquet")
ROWS = 50


def table():
    """Deterministic rows covering nulls, empty and null lists, null list elements, negative and
    large integers, and strings sharing prefixes (for DELTA_BYTE_ARRAY)."""
    b = [None if i % 7 == 3 else (i % 3 == 0) for i in range(ROWS)]
    i32 = [(i * 7919) % 1000 - 500 for i in range(ROWS)]
    i64 = [None if i % 5 == 4 else (i * 1_000_000_007) ** 2 % (1 << 62) - (1 << 61) for i in range(ROWS)]
    f = [i / 8.0 - 2.0 for i in range(ROWS)]
    d = [None if i % 9 == 8 else i * 0.1 + 1e10 for i in range(ROWS)]
    s = [None if i % 6 == 5 else "key_%03d_%s" % (i % 13, "x" * (i % 4)) for i in range(ROWS)]
    li = []
    ls = []
    for i in range(ROWS):
        if i % 10 == 9:
            li.append(None)
        elif i % 10 == 4:
            li.append([])
        else:
            li.append([(i * k) % 23 - 3 if (i + k) % 8 != 7 else None for k in range(i % 5)])
        ls.append(None if i % 11 == 10 else ["tag%d" % ((i + k) % 6) for k in range(i % 4)])
    return pa.table({
        "b": pa.array(b, pa.bool_()),
        "i32": pa.array(i32, pa.int32()),
        "i64": pa.array(i64, pa.int64()),
        "f": pa.array(f, pa.float32()),
        "d": pa.array(d, pa.float64()),
        "s": pa.array(s, pa.string()),
        "li": pa.array(li, pa.list_(pa.int64())),
        "ls": pa.array(ls, pa.list_(pa.string())),
    }, schema=pa.schema([
        pa.field("b", pa.bool_()), pa.field("i32", pa.int32(), nullable=False), pa.field("i64", pa.int64()),
        pa.field("f", pa.float32(), nullable=False), pa.field("d", pa.float64()), pa.field("s", pa.string()),
        pa.field("li", pa.list_(pa.int64())), pa.field("ls", pa.list_(pa.string())),
    ]))


def write(name, t, **options):
    options.setdefault("row_group_size", 20)
    pq.write_table(t, os.path.join(ROOT, name), **options)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(os.path.join(ROOT, "refused"))
    t = table()
    with open(os.path.join(ROOT, "expected.json"), "w") as out:
        json.dump(t.to_pydict(), out, indent=0, sort_keys=True)

    delta = {"i32": "DELTA_BINARY_PACKED", "i64": "DELTA_BINARY_PACKED", "s": "DELTA_BYTE_ARRAY",
             "ls.list.element": "DELTA_LENGTH_BYTE_ARRAY", "li.list.element": "DELTA_BINARY_PACKED", "f": "PLAIN", "d": "PLAIN", "b": "RLE"}
    write("plain_v1_none.parquet", t, use_dictionary=False, data_page_version="1.0", compression="NONE")
    write("plain_v1_snappy.parquet", t, use_dictionary=False, data_page_version="1.0", compression="SNAPPY")
    write("dict_v1_snappy.parquet", t, use_dictionary=True, data_page_version="1.0", compression="SNAPPY")
    write("dict_v1_gzip.parquet", t, use_dictionary=True, data_page_version="1.0", compression="GZIP")
    write("dict_v2_gzip.parquet", t, use_dictionary=True, data_page_version="2.0", compression="GZIP")
    write("plain_v2_none.parquet", t, use_dictionary=False, data_page_version="2.0", compression="NONE")
    write("delta_v2_snappy.parquet", t, use_dictionary=False, column_encoding=delta, data_page_version="2.0", compression="SNAPPY")
    write("delta_v1_gzip.parquet", t, use_dictionary=False, column_encoding=dict(delta, s="DELTA_LENGTH_BYTE_ARRAY", **{"ls.list.element": "DELTA_BYTE_ARRAY"}),
          data_page_version="1.0", compression="GZIP")
    # Many small pages per column chunk (and a dictionary that covers them all).
    write("small_pages_v1_snappy.parquet", t, use_dictionary=True, data_page_size=64, write_batch_size=5,
          data_page_version="1.0", compression="SNAPPY")
    write("small_pages_v2_none.parquet", t, use_dictionary=False, data_page_size=64, write_batch_size=5,
          data_page_version="2.0", compression="NONE")

    # Files that must be refused.
    refused = os.path.join(ROOT, "refused")
    small = t.slice(0, 10)
    pq.write_table(small, os.path.join(refused, "zstd.parquet"), compression="ZSTD")
    pq.write_table(small, os.path.join(refused, "lz4.parquet"), compression="LZ4")
    pq.write_table(small, os.path.join(refused, "brotli.parquet"), compression="BROTLI")
    pq.write_table(pa.table({"t": pa.array([0, 1, 2], pa.timestamp("ns"))}), os.path.join(refused, "int96.parquet"),
                   use_deprecated_int96_timestamps=True)
    pq.write_table(pa.table({"point": pa.array([{"x": 1, "y": 2}, {"x": 3, "y": 4}])}), os.path.join(refused, "struct.parquet"))
    with open(os.path.join(ROOT, "plain_v1_none.parquet"), "rb") as f:
        whole = f.read()
    with open(os.path.join(refused, "bad_magic.parquet"), "wb") as f:
        f.write(b"PAR0" + whole[4:])
    with open(os.path.join(refused, "truncated.parquet"), "wb") as f:
        f.write(whole[: len(whole) // 2])

    # A small file for the byte-flipping and cutting tests: one row group, a few pages.
    write("fuzz_base.parquet", t.slice(0, 12), use_dictionary=True, row_group_size=6, data_page_version="1.0", compression="SNAPPY")

    # Compressed streams made by the real tools.
    text = ("".join("%d, line %d of the fixture, %s\n" % (i, i, "abc" * (i % 17)) for i in range(1000))).encode()
    with open(os.path.join(ROOT, "text.txt"), "wb") as f:
        f.write(text[:2000])  # the first bytes, for a readable check
    with open(os.path.join(ROOT, "text.txt.gz"), "wb") as f:
        f.write(gzip.compress(text, compresslevel=9, mtime=0))
    with open(os.path.join(ROOT, "text_level1.gz"), "wb") as f:
        f.write(gzip.compress(text, compresslevel=1, mtime=0))
    stored = zlib.compressobj(0, zlib.DEFLATED, -15)
    with open(os.path.join(ROOT, "text_stored.deflate"), "wb") as f:
        f.write(stored.compress(text) + stored.flush())
    # Two gzip members back to back (`cat a.gz b.gz`).
    with open(os.path.join(ROOT, "two_members.gz"), "wb") as f:
        f.write(gzip.compress(b"first member\n", mtime=0) + gzip.compress(b"second member\n", mtime=0))
    with open(os.path.join(ROOT, "text.sha.json"), "w") as f:
        json.dump({"length": len(text), "crc32": zlib.crc32(text)}, f)

    # A small OneFlow-layout folder: files the OneFlow tool (Spark, parquet-mr) wrote, copied from
    # the shared Census Parquet when it is there, beside Spark's _SUCCESS and .crc files.
    shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "census-parquet")
    if os.path.isdir(shared):
        for split, count in (("train", 2), ("test", 1)):
            source = os.path.join(shared, split)
            target = os.path.join(ROOT, "oneflow", split)
            os.makedirs(target)
            parts = sorted(n for n in os.listdir(source) if n.startswith("part-") and n.endswith(".parquet"))[:count]
            for name in parts + ["_SUCCESS", "." + parts[0] + ".crc"]:
                shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
        # What pyarrow reads from the first training file, for the reader to match.
        first = pq.read_table(os.path.join(ROOT, "oneflow", "train", sorted(os.listdir(os.path.join(ROOT, "oneflow", "train")))[-1]))
        with open(os.path.join(ROOT, "oneflow_expected.json"), "w") as out:
            json.dump(first.to_pydict(), out)
    write_stream_folder()


def write_stream_folder():
    """A OneFlow-layout folder for the streaming tests, `stream/`: 3 training files of 3 row groups
    of 40 rows each (360 rows) and a test file of 60 rows, snappy, drawn with a seeded generator
    from the rows of `oneflow/` (so it needs no shared data)."""
    import numpy as np
    rng = np.random.default_rng(14)
    source = os.path.join(ROOT, "oneflow")
    for split, files_in_split, rows in (("train", 3, 120), ("test", 1, 60)):
        names = sorted(n for n in os.listdir(os.path.join(source, split)) if n.startswith("part-") and n.endswith(".parquet"))
        table = pa.concat_tables([pq.read_table(os.path.join(source, split, n)) for n in names])
        target = os.path.join(ROOT, "stream", split)
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.makedirs(target)
        for k in range(files_in_split):
            part = table.take(pa.array(rng.integers(0, table.num_rows, size=rows)))
            pq.write_table(part, os.path.join(target, "part-%05d-stream-c000.snappy.parquet" % k), compression="snappy",
                           use_dictionary=True, data_page_version="1.0", row_group_size=40)
        open(os.path.join(target, "_SUCCESS"), "w").close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--stream-only"]:
        write_stream_folder()
    else:
        main()
