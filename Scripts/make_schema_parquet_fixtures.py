#!/usr/bin/env python3
"""Writes Tests/DatasetsTests/Fixtures/schema-parquet/: one small table of a user's own data
written twice, as Parquet by pyarrow and as the CSV text of the same values, so the tests can
check the contract of `--schema` on Parquet: a Parquet value is read exactly as its CSV text is
(integers as their decimal text, strings as their bytes, booleans as true/false, a null as an
empty cell, a list as its elements joined by "|"), so both files give the same rows. CI needs no
Python: the outputs are committed; rerun this to regenerate them.

    python3 Scripts/make_schema_parquet_fixtures.py     # pip install pyarrow if it is missing
    python3 Scripts/make_schema_parquet_fixtures.py --large 500000 /tmp/big   # for mmoe-bench schema-parquet

Files: train.parquet (64 rows, row groups of 16, dictionary pages, snappy) and train.csv;
test.parquet (24 rows, one row group, plain data pages v2, gzip) and test.csv; schema.json, a
schema using every kind, transform and task type on them. The Parquet files also hold a struct
column `meta` (not in the CSV), for the refusal of a column that cannot serve a role.
"""
import csv
import os
import random
import shutil
import sys

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "DatasetsTests", "Fixtures", "schema-parquet")

CITIES = ["Paris", " Lyon", "Zürich ", "", "New York, NY", 'say "hi"', "Oslo"]
TAGS = ["red", "green", " blue", "", "x y", "ünï"]
GENRES = ["drama", "comedy", "noir", "sci-fi"]

SCHEMA = """{
  "delimiter": ",", "header": true,
  "features": [
    {"name": "age", "kind": "dense", "transform": "standardize", "default": 30},
    {"name": "log_price", "kind": "dense", "column": "price", "transform": "log1p"},
    {"name": "score", "kind": "dense", "transform": "minmax"},
    {"name": "clicks", "kind": "dense"},
    {"name": "city", "kind": "sparse", "buckets": 64},
    {"name": "user_id", "kind": "sparse", "buckets": 1000},
    {"name": "flag", "kind": "sparse", "buckets": 8},
    {"name": "tags", "kind": "tags", "separator": "|", "buckets": 32},
    {"name": "cats", "kind": "tags", "separator": "|", "buckets": 16},
    {"name": "genres", "kind": "tags", "separator": "|", "buckets": 16}
  ],
  "tasks": [
    {"name": "click", "type": "binary"},
    {"name": "buy", "type": "binary", "condition": "click"},
    {"name": "hours", "type": "regression"},
    {"name": "gold", "column": "segment", "type": "binary", "positive": ["gold"]}
  ]
}
"""


def rows(count, rng):
    out = []
    for i in range(count):
        def maybe(value, p=0.1):
            return None if rng.random() < p else value
        tags = None if rng.random() < 0.1 else [None if rng.random() < 0.1 else rng.choice(TAGS) for _ in range(rng.randrange(4))]
        cats = None if rng.random() < 0.1 else [rng.randrange(-5, 40) for _ in range(rng.randrange(3))]
        genres = maybe("|".join(rng.sample(GENRES, rng.randrange(0, 3))))
        click = maybe(rng.random() < 0.4, 0.15)
        out.append({
            "age": maybe(rng.randrange(18, 80)),
            "price": maybe(round(rng.uniform(0, 500), 2)),
            "score": rng.randrange(-16, 64) / 8.0,
            "clicks": rng.randrange(0, 1 << 40),
            "city": maybe(rng.choice(CITIES)),
            "user_id": maybe(rng.choice([rng.randrange(-(1 << 62), 1 << 62), rng.randrange(100)])),
            "flag": maybe(rng.random() < 0.5),
            "tags": tags,
            "cats": cats,
            "genres": genres,
            "click": click,
            "buy": None if not click else int(rng.random() < 0.5),
            "hours": maybe(round(rng.uniform(0, 40), 3)),
            "segment": maybe(rng.choice(["gold", "silver", "bronze"])),
            "note": 'a note, with "quotes"' if i % 5 == 0 else "",
            "meta": {"x": i, "y": -i},
        })
    return out


TYPES = [("age", pa.int32()), ("price", pa.float64()), ("score", pa.float32()), ("clicks", pa.int64()),
         ("city", pa.string()), ("user_id", pa.int64()), ("flag", pa.bool_()), ("tags", pa.list_(pa.string())),
         ("cats", pa.list_(pa.int64())), ("genres", pa.string()), ("click", pa.bool_()), ("buy", pa.int32()),
         ("hours", pa.float64()), ("segment", pa.string()), ("note", pa.string()),
         ("meta", pa.struct([("x", pa.int64()), ("y", pa.int64())]))]


def table(data):
    return pa.table({name: pa.array([r[name] for r in data], t) for name, t in TYPES})


def text(value):
    """A value as the CSV cell the contract says it reads as."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "|".join(text(v) for v in value if v is not None)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_csv(path, data):
    # Columns in another order than the Parquet file's, to show columns are found by name.
    names = [name for name, _ in TYPES if name != "meta"][::-1]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names)
        for r in data:
            w.writerow([text(r[n]) for n in names])


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    rng = random.Random(14)
    train, test = rows(64, rng), rows(24, rng)
    pq.write_table(table(train), os.path.join(ROOT, "train.parquet"), row_group_size=16, use_dictionary=True,
                   data_page_version="1.0", compression="snappy")
    pq.write_table(table(test), os.path.join(ROOT, "test.parquet"), use_dictionary=False,
                   data_page_version="2.0", compression="gzip")
    write_csv(os.path.join(ROOT, "train.csv"), train)
    write_csv(os.path.join(ROOT, "test.csv"), test)
    with open(os.path.join(ROOT, "schema.json"), "w") as f:
        f.write(SCHEMA)


def large(count, directory):
    """A large pair for `mmoe-bench schema-parquet`: `count` rows as train.parquet (row groups of
    65,536 rows, dictionary pages, snappy) and train.csv, with schema.json."""
    os.makedirs(directory, exist_ok=True)
    data = rows(count, random.Random(15))
    pq.write_table(table(data), os.path.join(directory, "train.parquet"), row_group_size=65536, compression="snappy")
    write_csv(os.path.join(directory, "train.csv"), data)
    with open(os.path.join(directory, "schema.json"), "w") as f:
        f.write(SCHEMA)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--large"]:
        large(int(sys.argv[2]), sys.argv[3])
    else:
        main()
