#!/usr/bin/env python3
"""Checks an mmoe-export ONNX graph against the Swift model, in onnxruntime.

For a checkpoint directory it:
  1. exports the model (mmoe-export --out WORK/model.onnx --sample_dir WORK/sample),
  2. runs onnx.checker (full check, with shape inference) on the file,
  3. scores the sample rows (random encoded rows in the model's input ranges) in onnxruntime and
     compares each task's output with expected.npy, the Swift Predictor's output on the same rows,
  4. with --input FILE (a raw Census or Taobao file): runs mmoe-predict --emit_inputs on it, scores
     the emitted arrays in onnxruntime and compares with mmoe-predict's CSV,
     and (Census and Taobao files) checks the emitted arrays against Scripts/serving_encoding.py, a
     Python encoder written from the documented encoding,
  5. with --throughput: times onnxruntime on the emitted (or sample) rows and prints samples/s.
Exits 1 when any difference exceeds --tolerance (default 1e-5), 0 otherwise.

Needs onnx, onnxruntime and numpy (pip install onnx onnxruntime numpy).

  python3 Scripts/check_onnx.py --model_dir runs/census/model --input data/census-income.test.gz
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

INPUT_NAMES = ("sparse_ids", "tag_ids", "sparse_keys", "tag_keys", "dense")


def load_inputs(directory):
    """The graph inputs written by --emit_inputs / --sample_dir: name -> array."""
    return {name: np.load(os.path.join(directory, name + ".npy"))
            for name in INPUT_NAMES if os.path.exists(os.path.join(directory, name + ".npy"))}


def read_csv(path):
    """mmoe-predict's output: the task names, then one row of values per input row."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], dtype=np.float64).reshape(-1, len(rows[0]))


def compare(session, inputs, names, expected, what, tolerance):
    """Scores `inputs` and compares each task output with `expected` [N, T]; returns True if all agree."""
    got = session.run(names, inputs)
    ok = True
    for t, name in enumerate(names):
        out = np.asarray(got[t], dtype=np.float64)
        if out.shape != (expected.shape[0],):
            print(f"{what}: {name}: shape {out.shape}, expected ({expected.shape[0]},)")
            ok = False
            continue
        diff = float(np.max(np.abs(out - expected[:, t]))) if out.size else 0.0
        status = "ok" if diff < tolerance else "FAIL"
        print(f"{what}: {name}: {out.size} rows, max abs diff {diff:.3g} ({status})")
        ok = ok and diff < tolerance
    return ok


def throughput(session, inputs, seconds=3.0):
    """Rows per second of one session.run over all of `inputs`, repeated for about `seconds`."""
    rows = next(iter(inputs.values())).shape[0]
    session.run(None, inputs)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        session.run(None, inputs)
        runs += 1
    return rows * runs / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", required=True, help="the checkpoint directory (model.safetensors)")
    p.add_argument("--input", help="a raw data file to run mmoe-predict --emit_inputs on")
    p.add_argument("--bin", default=".build/release", help="where mmoe-export and mmoe-predict are")
    p.add_argument("--work", help="where to write the model and arrays (default: a temporary directory)")
    p.add_argument("--sample_rows", type=int, default=1000)
    p.add_argument("--tolerance", type=float, default=1e-5)
    p.add_argument("--throughput", action="store_true", help="also time onnxruntime (samples/s)")
    p.add_argument("--external_data", action="store_true", help="export with the weights in model.onnx.data (ONNX external data)")
    args = p.parse_args()

    work = args.work or tempfile.mkdtemp(prefix="check_onnx.")
    os.makedirs(work, exist_ok=True)
    model_path = os.path.join(work, "model.onnx")
    sample_dir = os.path.join(work, "sample")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import serving_encoding
    manifest = serving_encoding.read_manifest(args.model_dir)
    gates = ["--with_gates"] if manifest["config"].get("kind", "mmoe") in ("mmoe", "omoe", "ple") else []
    subprocess.run([os.path.join(args.bin, "mmoe-export"), "--model_dir", args.model_dir, "--out", model_path,
                    "--sample_dir", sample_dir, "--sample_rows", str(args.sample_rows)] + gates
                   + (["--external_data"] if args.external_data else []), check=True)

    onnx.checker.check_model(model_path, full_check=True)
    model = onnx.load(model_path)
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    print(f"onnx.checker: ok (ir_version {model.ir_version}, opset {opsets})")

    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    tasks = [n for n in outputs if "_gate" not in n]
    ok = compare(session, load_inputs(sample_dir), tasks, np.load(os.path.join(sample_dir, "expected.npy")).astype(np.float64),
                 "sample", args.tolerance)
    gates = [n for n in outputs if "_gate" in n]
    if gates:
        values = session.run(gates, load_inputs(sample_dir))
        worst = max(float(np.max(np.abs(v.sum(axis=1) - 1))) for v in values)
        print(f"gates: {', '.join(gates)}: each row sums to 1 within {worst:.2g}")
        ok = ok and worst < 1e-5

    timed = load_inputs(sample_dir)
    if args.input:
        emitted, predictions = os.path.join(work, "emitted"), os.path.join(work, "predictions.csv")
        subprocess.run([os.path.join(args.bin, "mmoe-predict"), "--model_load_dir", args.model_dir, "--input", args.input,
                        "--output", predictions, "--emit_inputs", emitted], check=True)
        if manifest["dataset"] in ("census", "taobao"):
            ok = serving_encoding.compare(serving_encoding.encode(args.input, manifest), emitted) and ok
        else:
            print(f"encoding: no Python reference encoder for {manifest['dataset']} data; the graph is checked on mmoe-predict's own arrays")
        names, expected = read_csv(predictions)
        if names != tasks:
            print(f"mmoe-predict's tasks {names} are not the graph's {tasks}")
            ok = False
        else:
            timed = load_inputs(emitted)
            ok = compare(session, timed, tasks, expected, "mmoe-predict", args.tolerance) and ok

    if args.throughput:
        plain = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
        rows = next(iter(timed.values())).shape[0]
        print(f"onnxruntime {ort.__version__}: {throughput(plain, timed):.0f} samples/s "
              f"({rows} rows per run, {os.cpu_count()} cores)")
    print("check_onnx: " + ("all outputs agree" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
