#!/usr/bin/env python3
"""How far apart MMoE's two task gates end up in a correlation study's runs.

Reads DIR/<model>_p<p>_s<seed>_lr<lr>/gate_report.json (written by `mmoe-train --gate_report`, which
Scripts/reproduce_paper.sh passes to every MMoE run) and prints, per correlation p, over the seeds
at each learning rate:
  - gate distance: half the L1 distance between the two tasks' mean gate weights (0: the two gates
    use the experts in the same proportions, as OMoE's one gate must; 1: disjoint experts);
  - top expert share: the largest mean weight of a gate (1/E = 0.125 for 8 experts: no preference);
  - peaked: the share of rows whose largest gate weight is above 0.9.

    Scripts/paper_gates.py result/paper/runs [more run directories...]
"""
import json
import os
import re
import statistics
import sys


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    rows = {}
    for root in argv[1:]:
        if not os.path.isdir(root):
            print(f"paper_gates.py: {root}: no such directory", file=sys.stderr)
            return 2
        for name in sorted(os.listdir(root)):
            m = re.fullmatch(r"mmoe_p(-?[0-9.]+)_s([0-9]+)(?:_lr([0-9.eE-]+))?", name)
            path = os.path.join(root, name, "gate_report.json")
            if not m or not os.path.isfile(path):
                continue
            try:
                with open(path) as f:
                    report = json.load(f)
                gates = report["gates"]
                a, b = gates[0]["mean_weight"], gates[1]["mean_weight"]
            except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
                print(f"paper_gates.py: {path}: not a two-gate report ({e})", file=sys.stderr)
                return 2
            key = (root, m.group(3) or "-", float(m.group(1)))
            rows.setdefault(key, []).append((
                0.5 * sum(abs(x - y) for x, y in zip(a, b)),
                statistics.mean(max(g["mean_weight"]) for g in gates),
                statistics.mean(g["peaked_fraction"] for g in gates),
            ))
    if not rows:
        print("paper_gates.py: no mmoe runs with a gate_report.json", file=sys.stderr)
        return 2
    print("| runs | lr | p | seeds | gate distance (mean ± sd) | top expert share | peaked rows |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (root, lr, p) in sorted(rows, key=lambda k: (k[0], k[1], -k[2])):
        r = rows[(root, lr, p)]
        d = [x[0] for x in r]
        sd = statistics.stdev(d) if len(d) > 1 else 0.0
        print(f"| {root} | {lr} | {p:g} | {len(r)} | {statistics.mean(d):.3f} ± {sd:.3f} | "
              f"{statistics.mean(x[1] for x in r):.3f} | {statistics.mean(x[2] for x in r):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
