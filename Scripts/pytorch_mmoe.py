#!/usr/bin/env python3
# Optional comparison, not part of the product: an eager PyTorch (CPU) reference implementation of
# the MMoE model that mmoe-train trains on Census-income (the OneFlow MMoE example), used only to
# measure speed and AUC side by side with the Swift trainer. Needs python3 with torch and numpy.
#
#   python3 Scripts/pytorch_mmoe.py                        # 5 epochs, 2 threads, seed 2019
#   python3 Scripts/pytorch_mmoe.py --threads 1 --seed 7
#   python3 Scripts/pytorch_mmoe.py --batched_experts      # experts as one bmm instead of a loop
#
# Data: the raw UCI Census-income files census-income.data.gz and census-income.test.gz (or the
# uncompressed files) in --data_dir. Model: embeddings (one fused table for the 29 categorical
# fields, each field with its own id range plus an unknown id) concatenated with 11 min-max scaled
# dense features, 3 experts Linear(127,256)-ReLU-Linear(256,128), a softmax gate per task,
# a Linear(128,1) tower per task; loss = BCE(income) + BCE(marital); Adam lr 0.001, batch 256.
# The last line printed is a JSON summary.

import argparse
import gzip
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

COLUMNS = [
    "age", "class_worker", "det_ind_code", "det_occ_code", "education", "wage_per_hour",
    "hs_college", "marital_stat", "major_ind_code", "major_occ_code", "race", "hisp_origin", "sex",
    "union_member", "unemp_reason", "full_or_part_emp", "capital_gains", "capital_losses",
    "stock_dividends", "tax_filer_stat", "region_prev_res", "state_prev_res", "det_hh_fam_stat",
    "det_hh_summ", "instance_weight", "mig_chg_msa", "mig_chg_reg", "mig_move_reg", "mig_same",
    "mig_prev_sunbelt", "num_emp", "fam_under_18", "country_father", "country_mother",
    "country_self", "citizenship", "own_or_self", "vet_question", "vet_benefits", "weeks_worked",
    "year", "income_50k",
]
DENSE = [
    "age", "wage_per_hour", "capital_gains", "capital_losses", "stock_dividends",
    "instance_weight", "num_emp", "own_or_self", "vet_benefits", "weeks_worked", "year",
]
LABEL_COLUMNS = ("marital_stat", "income_50k")
SPARSE = [c for c in COLUMNS if c not in DENSE and c not in LABEL_COLUMNS]  # 29, in file order
assert len(COLUMNS) == 42 and len(DENSE) == 11 and len(SPARSE) == 29


# ---------------------------------------------------------------------------------------- data

def read_rows(data_dir, stem):
    for name in (stem + ".gz", stem):
        path = Path(data_dir) / name
        if path.exists():
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as f:
                rows = []
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    fields = line.split(", ")
                    if len(fields) != len(COLUMNS):
                        raise ValueError(f"{path}: expected {len(COLUMNS)} fields, got {len(fields)}")
                    if fields[-1].endswith("."):
                        fields[-1] = fields[-1][:-1]
                    rows.append(fields)
                return rows
    sys.exit(f"pytorch_mmoe.py: neither {stem}.gz nor {stem} found in {data_dir}")


def encode(train_rows, test_rows):
    """Returns (ids, dense, labels) tensors per split and the fused table size."""
    col = {c: i for i, c in enumerate(COLUMNS)}

    # Vocabularies from the training split; id len(vocab) is the field's unknown id. Each field
    # gets its own id range in one fused table (offset = rows of the fields before it).
    vocabs, offsets, total = [], [], 0
    for c in SPARSE:
        values = sorted({r[col[c]] for r in train_rows})
        vocabs.append({v: i for i, v in enumerate(values)})
        offsets.append(total)
        total += len(values) + 1

    def dense_matrix(rows):
        return np.array([[float(r[col[c]]) for c in DENSE] for r in rows], dtype=np.float64)

    dtrain, dtest = dense_matrix(train_rows), dense_matrix(test_rows)
    lo, hi = dtrain.min(axis=0), dtrain.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    dtrain = (dtrain - lo) / span
    dtest = np.clip((dtest - lo) / span, 0.0, 1.0)

    def split(rows, dense):
        ids = np.empty((len(rows), len(SPARSE)), dtype=np.int64)
        for j, c in enumerate(SPARSE):
            k, vocab, unknown = col[c], vocabs[j], len(vocabs[j])
            ids[:, j] = [offsets[j] + vocab.get(r[k], unknown) for r in rows]
        labels = np.array(
            [[r[col["income_50k"]] == "50000+", r[col["marital_stat"]] == "Never married"] for r in rows],
            dtype=np.float32)
        return (torch.from_numpy(ids), torch.from_numpy(dense.astype(np.float32)),
                torch.from_numpy(labels))

    return split(train_rows, dtrain), split(test_rows, dtest), total, [len(v) for v in vocabs]


# --------------------------------------------------------------------------------------- model

class MMoE(nn.Module):
    def __init__(self, table_rows, fields, emb_dim, dense_dim, expert_dims=(256, 128),
                 num_experts=3, num_tasks=2, batched_experts=False):
        super().__init__()
        self.fields, self.emb_dim = fields, emb_dim
        self.num_experts, self.num_tasks = num_experts, num_tasks
        self.batched = batched_experts
        d = fields * emb_dim + dense_dim
        h1, h2 = expert_dims
        self.embedding = nn.Embedding(table_rows, emb_dim)  # one fused table for all fields
        if batched_experts:
            # All experts as stacked weights: two baddbmm calls instead of 2 x E addmm calls.
            self.w1 = nn.Parameter(torch.empty(num_experts, d, h1))
            self.b1 = nn.Parameter(torch.zeros(num_experts, 1, h1))
            self.w2 = nn.Parameter(torch.empty(num_experts, h1, h2))
            self.b2 = nn.Parameter(torch.zeros(num_experts, 1, h2))
            self.gate_w = nn.Parameter(torch.empty(num_tasks * num_experts, d))  # all gates, one GEMM
        else:
            # As an eager user (and the OneFlow example) writes it: a loop over a ModuleList.
            self.experts = nn.ModuleList(
                nn.Sequential(nn.Linear(d, h1), nn.ReLU(), nn.Linear(h1, h2)) for _ in range(num_experts))
            self.gates = nn.ModuleList(nn.Linear(d, num_experts, bias=False) for _ in range(num_tasks))
        self.towers = nn.ModuleList(nn.Linear(h2, 1) for _ in range(num_tasks))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self):
        nn.init.normal_(self.embedding.weight, 0.0, 1e-4)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        if self.batched:
            # Same distributions as the per-expert Linear layers (xavier_normal_ per [in, out] slice).
            for w in (self.w1, self.w2):
                for e in range(self.num_experts):
                    nn.init.xavier_normal_(w[e])
            for t in range(self.num_tasks):
                nn.init.xavier_normal_(self.gate_w[t * self.num_experts:(t + 1) * self.num_experts])
            self.b1.zero_()
            self.b2.zero_()

    def forward(self, ids, dense):
        b = ids.shape[0]
        x = torch.cat([self.embedding(ids).reshape(b, self.fields * self.emb_dim), dense], dim=1)
        if self.batched:
            xe = x.unsqueeze(0).expand(self.num_experts, b, x.shape[1])
            h = torch.relu(torch.baddbmm(self.b1, xe, self.w1))
            experts = torch.baddbmm(self.b2, h, self.w2)                      # [E, B, H]
            gates = F.softmax((x @ self.gate_w.t()).view(b, self.num_tasks, self.num_experts), dim=2)
            mixed = torch.einsum("bte,ebh->tbh", gates, experts)              # [T, B, H]
            return torch.cat([tower(mixed[t]) for t, tower in enumerate(self.towers)], dim=1)
        experts = torch.stack([expert(x) for expert in self.experts], dim=1)  # [B, E, H]
        logits = []
        for gate, tower in zip(self.gates, self.towers):
            g = F.softmax(gate(x), dim=1)                                     # [B, E]
            mixed = torch.sum(g.unsqueeze(2) * experts, dim=1)                # [B, H]
            logits.append(tower(mixed))
        return torch.cat(logits, dim=1)                                       # [B, T]


# ------------------------------------------------------------------------------------- metrics

def auc(labels, scores):
    """Exact ROC AUC from ranks (ties get their average rank)."""
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    # Start of each run of equal scores; the run [start, end) gets the average 1-based rank.
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0
    ranks = np.empty(s.size, dtype=np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def logloss(labels, logits):
    y = np.asarray(labels, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


# ---------------------------------------------------------------------------------------- main

def main():
    repo_root = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__ or "eager PyTorch MMoE reference on Census-income")
    p.add_argument("--data_dir", default=str(repo_root / "../shared/data/census"),
                   help="directory with census-income.data[.gz] and census-income.test[.gz]")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--eval_batch_size", type=int, default=4096)
    p.add_argument("--learning_rate", type=float, default=0.001)
    p.add_argument("--embedding_vec_size", type=int, default=4)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=2019)
    p.add_argument("--warmup_steps", type=int, default=20, help="first steps left out of the timing")
    p.add_argument("--batched_experts", action="store_true",
                   help="experts as stacked weights and bmm (default: a ModuleList loop, as the OneFlow example)")
    p.add_argument("--experts_loop", dest="batched_experts", action="store_false",
                   help="experts as a ModuleList loop (the default)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    t0 = time.perf_counter()
    train_rows = read_rows(args.data_dir, "census-income.data")
    test_rows = read_rows(args.data_dir, "census-income.test")
    (tr_ids, tr_dense, tr_y), (te_ids, te_dense, te_y), table_rows, vocab = encode(train_rows, test_rows)
    del train_rows, test_rows
    n, n_test = tr_ids.shape[0], te_ids.shape[0]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, seed {args.seed}, "
          f"experts {'batched' if args.batched_experts else 'loop'}; data {n} train / {n_test} test rows, "
          f"fused table {table_rows} rows (vocab {sum(vocab)} + {len(vocab)} unknown), "
          f"loaded in {time.perf_counter() - t0:.2f}s", flush=True)

    model = MMoE(table_rows, len(SPARSE), args.embedding_vec_size, len(DENSE),
                 batched_experts=args.batched_experts)
    opt = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    gen = torch.Generator().manual_seed(args.seed)
    bs = args.batch_size

    def evaluate():
        model.eval()
        outs = []
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, n_test, args.eval_batch_size):
                outs.append(model(te_ids[i:i + args.eval_batch_size], te_dense[i:i + args.eval_batch_size]))
        seconds = time.perf_counter() - start
        model.train()
        z = torch.cat(outs).numpy()
        y = te_y.numpy()
        return seconds, {
            "auc_income": auc(y[:, 0], z[:, 0]), "auc_marital": auc(y[:, 1], z[:, 1]),
            "logloss_income": logloss(y[:, 0], z[:, 0]), "logloss_marital": logloss(y[:, 1], z[:, 1]),
        }

    step = 0
    timed_seconds, timed_samples = 0.0, 0
    eval_seconds, eval_samples = 0.0, 0
    metrics = {}
    model.train()
    for epoch in range(1, args.epochs + 1):
        loss_sum = torch.zeros(())
        batches = 0
        epoch_start = time.perf_counter()
        mark, mark_samples = epoch_start, 0  # timing window start (moves past the warm-up steps)
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            ids, dense, y = tr_ids[idx], tr_dense[idx], tr_y[idx]
            logits = model(ids, dense)
            loss = (F.binary_cross_entropy_with_logits(logits[:, 0], y[:, 0])
                    + F.binary_cross_entropy_with_logits(logits[:, 1], y[:, 1]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            batches += 1
            step += 1
            mark_samples += idx.numel()
            if step == args.warmup_steps:
                mark, mark_samples = time.perf_counter(), 0
        end = time.perf_counter()
        if step > args.warmup_steps:
            timed_seconds += end - mark
            timed_samples += mark_samples
        es, metrics = evaluate()
        eval_seconds += es
        eval_samples += n_test
        print(f"epoch {epoch}: steps {step}, train loss {loss_sum.item() / batches:.5f}, "
              f"{end - epoch_start:.2f}s; test AUC income {metrics['auc_income']:.5f} "
              f"marital {metrics['auc_marital']:.5f}, logloss income {metrics['logloss_income']:.5f} "
              f"marital {metrics['logloss_marital']:.5f}", flush=True)

    summary = {
        "threads": args.threads,
        "train_samples_per_sec": round(timed_samples / timed_seconds, 1) if timed_seconds > 0 else None,
        "eval_samples_per_sec": round(eval_samples / eval_seconds, 1) if eval_seconds > 0 else None,
        "auc_income": round(metrics.get("auc_income", float("nan")), 6),
        "auc_marital": round(metrics.get("auc_marital", float("nan")), 6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "logloss_income": round(metrics.get("logloss_income", float("nan")), 6),
        "logloss_marital": round(metrics.get("logloss_marital", float("nan")), 6),
        "experts": "batched" if args.batched_experts else "loop",
        "seed": args.seed, "epochs": args.epochs, "steps": step, "timed_steps": max(step - args.warmup_steps, 0),
        "torch": torch.__version__,
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
