#!/usr/bin/env python3
"""Reads a run directory's TensorBoard event files with TensorBoard's own reader (the
`tensorboard` package's EventAccumulator, which checks every record's CRC), prints each tag with
its number of points and last value, and fails unless the tags every mmoe-train run writes are
there with finite values.

    Scripts/check_tensorboard.py RUN_DIR [--expect TAG ...]

RUN_DIR is mmoe-train's --output_dir. Exit code 0: all expected tags present and finite;
1: something is missing or not finite; 2: no event file or no tensorboard package.
"""
import argparse
import glob
import math
import os
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--expect", nargs="*", default=[],
                        help="more scalar tags that must be present (besides train/loss/*, test/* and train/learning_rate)")
    args = parser.parse_args()
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        print("check_tensorboard: the tensorboard package is not installed (pip install tensorboard)", file=sys.stderr)
        return 2
    files = glob.glob(os.path.join(args.run_dir, "events.out.tfevents.*"))
    if not files:
        print(f"check_tensorboard: no events.out.tfevents.* file in {args.run_dir}", file=sys.stderr)
        return 2
    accumulator = EventAccumulator(args.run_dir, size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    problems = []
    scalars = tags.get("scalars", [])
    for tag in sorted(scalars):
        points = accumulator.Scalars(tag)
        print(f"{tag}\t{len(points)} points\tsteps {points[0].step}..{points[-1].step}\tlast {points[-1].value:.6g}")
        for p in points:
            if not math.isfinite(p.value):
                problems.append(f"{tag}: value {p.value} at step {p.step} is not finite")
                break
        steps = [p.step for p in points]
        if steps != sorted(steps):
            problems.append(f"{tag}: steps are not increasing: {steps}")
    texts = tags.get("tensors", [])
    for tag in sorted(texts):
        value = accumulator.Tensors(tag)[-1].tensor_proto.string_val
        print(f"{tag}\ttext\t{len(value[0]) if value else 0} bytes")
    if not any(t.startswith("train/loss/") for t in scalars):
        problems.append("no train/loss/<task> scalars")
    if not any(t.startswith("test/") for t in scalars):
        problems.append("no test/<metric>/<task> scalars (a --no_eval run has none; pass a run that evaluated)")
    for tag in ["train/learning_rate", "train/samples_per_sec"] + args.expect:
        if tag not in scalars:
            problems.append(f"missing scalar {tag}")
    if "flags" not in texts:
        problems.append("missing the flags text summary")
    for p in problems:
        print(f"check_tensorboard: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_tensorboard: {len(scalars)} scalar tags and {len(texts)} text tags in {', '.join(os.path.basename(f) for f in files)}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
