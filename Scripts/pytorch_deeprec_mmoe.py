#!/usr/bin/env python3
# Optional comparison, not part of the product: an eager PyTorch (CPU) reference implementation of
# the DeepRec model-zoo MMoE that mmoe-train trains on the Taobao data (DeepRec's defaults), used
# only to measure speed and AUC side by side with the Swift trainer. Needs python3 with torch and
# numpy.
#
#   python3 Scripts/pytorch_deeprec_mmoe.py                       # 400 steps, batch 512, 2 threads, seed 2021
#   python3 Scripts/pytorch_deeprec_mmoe.py --steps 100 --threads 1
#   python3 Scripts/pytorch_deeprec_mmoe.py --batched_experts     # experts as baddbmm on stacked weights
#   python3 Scripts/pytorch_deeprec_mmoe.py --embedding split     # nn.Embedding + EmbeddingBag (see below)
#
# Data: taobao_train_data and taobao_test_data in --data_dir (no header, 20 comma-separated
# columns; labels clk -> task ctr, buy -> task cvr). 17 embedding fields of dimension 16: the 14
# single-valued string fields other than final_gender_code, hashed (zlib.crc32 of
# "field_index:value", mod the field's DeepRec bucket count; the empty string is a value like any
# other), the two '|'-separated tag lists (100000 buckets each, mean combiner, empty tokens skipped,
# an empty list gives a zero vector) and price (identity, 50 buckets). The bucket numbers differ
# from the Swift trainer's (FNV-1a) but are hash buckets of the same sizes.
#
# Embedding lookup (--embedding): "bag" (the default) is one fused
# nn.EmbeddingBag(total_rows, 16, mode="mean", sparse=True) over all 17 fields, each field with
# its own row range and one bag per (row, field) given by offsets; "split" is an nn.Embedding over
# the 15 single-valued fields' rows plus an nn.EmbeddingBag over the two tag fields' rows. Both give
# the same vectors; on a 2-core machine "bag" was about 1% faster per step (a tie, in practice),
# and --batched_experts about 10% faster than the loop at 2 threads (no difference at 1 thread).
# Embedding gradients are sparse, so Adagrad updates only the rows a batch touched (as TensorFlow's
# sparse apply does); the dense parameters have their own Adagrad (same settings, foreach path).
#
# Model (DeepRec modelzoo/mmoe): input = 17 x 16 = 272 concat; 4 experts, each
# Linear(272,256)-ReLU-Linear(256,192)-ReLU-Linear(192,128)-ReLU-Linear(128,64)-ReLU; per task a
# gate Linear(272,4) with bias and a softmax; mixture = sum of gate x expert; per task a tower
# Linear(64,256)-ReLU-Linear(256,192)-ReLU-Linear(192,128)-ReLU-Linear(128,64)-ReLU-Linear(64,1).
# Init as the Swift trainer: embeddings N(0, 1e-4^2), weights Xavier-normal, biases 0.
# Loss = BCEWithLogits(ctr) + BCEWithLogits(cvr) (batch means) + l2 * sum(w^2)/2 over the Linear
# weights (not biases, not embeddings). Optimizer: torch.optim.Adagrad(lr 0.1,
# initial_accumulator_value 0.1, eps 1e-10), DeepRec's adagrad; note torch divides by
# sqrt(accumulator) + eps where TensorFlow divides by sqrt(accumulator) (eps 1e-10 is negligible
# next to sqrt(0.1)). Training: --steps batches of --batch_size from shuffled epochs
# (torch.randperm seeded with --seed, each epoch cut into ceil(N/B) batches, the last one short).
# Only the training steps are timed (the data are encoded into tensors before). At the end: exact
# per-task AUC (rank based, ties averaged) and the pooled AUC over both tasks' logits and labels
# (DeepRec train.py's single AUC). The last line printed is a JSON summary.

import argparse
import json
import math
import resource
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

COLUMNS = [
    "clk", "buy", "pid", "adgroup_id", "cate_id", "campaign_id", "customer", "brand", "user_id",
    "cms_segid", "cms_group_id", "final_gender_code", "age_level", "pvalue_level", "shopping_level",
    "occupation", "new_user_class_level", "tag_category_list", "tag_brand_list", "price",
]
LABELS = ("clk", "buy")          # tasks ctr, cvr
TASKS = ("ctr", "cvr")
# Embedding fields in DeepRec's order, with their bucket counts.
HASHED = [  # single-valued string fields, hash buckets
    ("pid", 10), ("adgroup_id", 100000), ("cate_id", 10000), ("campaign_id", 100000),
    ("customer", 100000), ("brand", 100000), ("user_id", 100000), ("cms_segid", 100),
    ("cms_group_id", 100), ("age_level", 10), ("pvalue_level", 10), ("shopping_level", 10),
    ("occupation", 10), ("new_user_class_level", 10),
]
BAGS = [("tag_category_list", 100000), ("tag_brand_list", 100000)]  # '|'-separated, mean combiner
IDENTITY = [("price", 50)]                                           # integer bucket id
FIELDS = HASHED + BAGS + IDENTITY
NUM_FIELDS = len(FIELDS)
assert len(COLUMNS) == 20 and NUM_FIELDS == 17

EMB_DIM = 16
EXPERT_DIMS = (256, 192, 128, 64)
TOWER_DIMS = (256, 192, 128, 64)
NUM_EXPERTS = 4


# ---------------------------------------------------------------------------------------- data

def bucket(field_index, value, buckets):
    return zlib.crc32(f"{field_index}:{value}".encode()) % buckets


def read_split(path, field_base):
    """Encodes one file. Returns (labels [N,2] float32, single [N,15] int64 fused-table ids of the
    15 single-valued fields (hashed ones and price), bag_ids [N] lists per tag field of fused ids).
    """
    col = {c: i for i, c in enumerate(COLUMNS)}
    if not Path(path).exists():
        sys.exit(f"pytorch_deeprec_mmoe.py: {path} not found (see --data_dir)")
    labels, single, bags = [], [], [[] for _ in BAGS]
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            r = line.split(",")
            if len(r) != len(COLUMNS):
                sys.exit(f"{path}:{line_no}: expected {len(COLUMNS)} fields, got {len(r)}")
            try:
                labels.append((float(int(r[col["clk"]])), float(int(r[col["buy"]]))))
                price = int(r[col["price"]])
            except ValueError:
                sys.exit(f"{path}:{line_no}: labels and price must be integers")
            if not 0 <= price < IDENTITY[0][1]:
                sys.exit(f"{path}:{line_no}: price {price} outside [0, {IDENTITY[0][1]})")
            ids = [field_base[j] + bucket(j, r[col[name]], n) for j, (name, n) in enumerate(HASHED)]
            ids.append(field_base[NUM_FIELDS - 1] + price)
            single.append(ids)
            for k, (name, n) in enumerate(BAGS):
                j = len(HASHED) + k
                bags[k].append([field_base[j] + bucket(j, t, n) for t in r[col[name]].split("|") if t])
    return (torch.tensor(labels, dtype=torch.float32), torch.tensor(single, dtype=torch.int64), bags)


class Split:
    """One split's encoded rows, laid out for fast batch gathering.

    For --embedding bag every row is stored as its 17 bags' ids in field order (CSR over rows:
    `flat`, `row_ptr`) with the per-field bag lengths `lengths` [N,17]; a batch gathers the rows'
    segments and passes one offsets vector over all (row, field) bags. For --embedding split the
    single-valued ids stay a dense [N,15] tensor and only the two tag fields are CSR."""

    def __init__(self, labels, single, bags, mode):
        self.labels, self.n, self.mode = labels, labels.shape[0], mode
        bag_len = torch.tensor([[len(b[i]) for b in bags] for i in range(self.n)],
                               dtype=torch.int64).reshape(self.n, len(BAGS))
        if mode == "bag":
            ones = torch.ones(self.n, 1, dtype=torch.int64)
            nh = len(HASHED)
            # Field order: 14 hashed, the 2 tag lists, price.
            self.lengths = torch.cat([ones.expand(self.n, nh), bag_len, ones], dim=1).contiguous()
            rows = []
            for i in range(self.n):
                s = single[i].tolist()
                rows.append(s[:nh] + [x for b in bags for x in b[i]] + s[nh:])
            self._csr(rows, self.lengths.sum(dim=1))
        else:
            self.single = single
            self.bag_lengths = bag_len
            rows = [[x for b in bags for x in b[i]] for i in range(self.n)]
            self._csr(rows, bag_len.sum(dim=1))

    def _csr(self, rows, row_len):
        self.flat = torch.tensor([x for r in rows for x in r], dtype=torch.int64)
        self.row_ptr = torch.zeros(self.n + 1, dtype=torch.int64)
        torch.cumsum(row_len, 0, out=self.row_ptr[1:])

    def _gather(self, idx):
        start = self.row_ptr[idx]
        seg = self.row_ptr[idx + 1] - start
        total = int(seg.sum())
        seg_start = torch.cumsum(seg, 0) - seg                        # exclusive cumsum
        pos = (torch.arange(total, dtype=torch.int64)
               + torch.repeat_interleave(start - seg_start, seg, output_size=total))
        return self.flat[pos]

    def batch(self, idx):
        """(embedding inputs, labels) for the rows `idx`."""
        if self.mode == "bag":
            lens = self.lengths[idx].reshape(-1)                      # [B*17], one bag per (row, field)
            offsets = torch.cumsum(lens, 0) - lens
            return (self._gather(idx), offsets), self.labels[idx]
        lens = self.bag_lengths[idx].reshape(-1)                      # [B*2]
        offsets = torch.cumsum(lens, 0) - lens
        return (self.single[idx], self._gather(idx), offsets), self.labels[idx]


# --------------------------------------------------------------------------------------- model

def mlp(dims):
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


class DeepRecMMoE(nn.Module):
    def __init__(self, field_rows, embedding="bag", batched_experts=False, num_tasks=2):
        super().__init__()
        self.embedding_mode, self.batched, self.num_tasks = embedding, batched_experts, num_tasks
        d = NUM_FIELDS * EMB_DIM
        self.input_dim = d
        if embedding == "bag":
            self.table = nn.EmbeddingBag(sum(field_rows), EMB_DIM, mode="mean", sparse=True)
        else:
            single_rows = sum(field_rows[:len(HASHED)]) + field_rows[-1]
            bag_rows = sum(field_rows[len(HASHED):len(HASHED) + len(BAGS)])
            self.single_table = nn.Embedding(single_rows, EMB_DIM, sparse=True)
            self.bag_table = nn.EmbeddingBag(bag_rows, EMB_DIM, mode="mean", sparse=True)
        dims = (d,) + EXPERT_DIMS
        if batched_experts:
            # All experts as stacked [E, in, out] weights: one baddbmm per layer; all gates one GEMM.
            self.expert_w = nn.ParameterList(nn.Parameter(torch.empty(NUM_EXPERTS, a, b))
                                             for a, b in zip(dims[:-1], dims[1:]))
            self.expert_b = nn.ParameterList(nn.Parameter(torch.zeros(NUM_EXPERTS, 1, b)) for b in dims[1:])
            self.gate = nn.Linear(d, num_tasks * NUM_EXPERTS)
        else:
            # As an eager user writes it: a loop over a ModuleList of experts, one gate per task.
            self.experts = nn.ModuleList(mlp(dims) for _ in range(NUM_EXPERTS))
            self.gates = nn.ModuleList(nn.Linear(d, NUM_EXPERTS) for _ in range(num_tasks))
        self.towers = nn.ModuleList(
            nn.Sequential(mlp((EXPERT_DIMS[-1],) + TOWER_DIMS), nn.Linear(TOWER_DIMS[-1], 1))
            for _ in range(num_tasks))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self):
        for m in self.modules():
            if isinstance(m, (nn.Embedding, nn.EmbeddingBag)):
                nn.init.normal_(m.weight, 0.0, 1e-4)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)
        if self.batched:
            for w in self.expert_w:
                for e in range(NUM_EXPERTS):
                    nn.init.xavier_normal_(w[e])       # same std as Linear(in, out): symmetric in the fans
            for t in range(self.num_tasks):            # each task's gate as its own Linear(272, 4)
                nn.init.xavier_normal_(self.gate.weight[t * NUM_EXPERTS:(t + 1) * NUM_EXPERTS])

    def l2_weights(self):
        """The weights L2 applies to: every Linear (and stacked expert) weight."""
        ws = [m.weight for m in self.modules() if isinstance(m, nn.Linear)]
        if self.batched:
            ws += list(self.expert_w)
        return ws

    def embed(self, inputs):
        if self.embedding_mode == "bag":
            flat, offsets = inputs
            return self.table(flat, offsets).reshape(-1, self.input_dim)
        single, flat, offsets = inputs
        b = single.shape[0]
        e_single = self.single_table(single)                            # [B, 15, 16]
        e_bags = self.bag_table(flat, offsets).reshape(b, len(BAGS), EMB_DIM)
        nh = len(HASHED)                                                # field order as in "bag"
        return torch.cat([e_single[:, :nh], e_bags, e_single[:, nh:]], dim=1).reshape(b, self.input_dim)

    def forward(self, inputs):
        x = self.embed(inputs)                                          # [B, 272]
        b = x.shape[0]
        if self.batched:
            h = x.unsqueeze(0).expand(NUM_EXPERTS, b, self.input_dim)
            for w, bias in zip(self.expert_w, self.expert_b):
                h = torch.relu(torch.baddbmm(bias, h, w))               # [E, B, out]
            gates = F.softmax(self.gate(x).view(b, self.num_tasks, NUM_EXPERTS), dim=2)
            mixed = torch.einsum("bte,ebh->tbh", gates, h)              # [T, B, 64]
            return torch.cat([tower(mixed[t]) for t, tower in enumerate(self.towers)], dim=1)
        experts = torch.stack([expert(x) for expert in self.experts], dim=1)  # [B, E, 64]
        logits = []
        for gate, tower in zip(self.gates, self.towers):
            g = F.softmax(gate(x), dim=1)                               # [B, E]
            mixed = torch.sum(g.unsqueeze(2) * experts, dim=1)          # [B, 64]
            logits.append(tower(mixed))
        return torch.cat(logits, dim=1)                                 # [B, T]


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
    p = argparse.ArgumentParser(description="eager PyTorch reference of DeepRec's MMoE on the Taobao data")
    p.add_argument("--data_dir", default=str(repo_root / "../shared/data/taobao"),
                   help="directory with taobao_train_data and taobao_test_data")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch_size", type=int, default=512)
    p.add_argument("--eval_batch_size", type=int, default=4096)
    p.add_argument("--learning_rate", type=float, default=0.1)
    p.add_argument("--l2", type=float, default=1e-6, help="L2 on Linear weights: loss += l2 * sum(w^2)/2")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--warmup_steps", type=int, default=0,
                   help="first steps left out of the timing (default 0: all steps timed, as mmoe-train)")
    p.add_argument("--log_steps", type=int, default=100, help="progress line every N steps")
    p.add_argument("--embedding", choices=("bag", "split"), default="bag",
                   help="bag: one fused EmbeddingBag for all 17 fields (default); "
                        "split: Embedding for the 15 single-valued fields + EmbeddingBag for the tag lists")
    p.add_argument("--batched_experts", action="store_true",
                   help="experts as stacked weights and baddbmm (default: a ModuleList loop)")
    p.add_argument("--experts_loop", dest="batched_experts", action="store_false",
                   help="experts as a ModuleList loop (the default)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.sparse.check_sparse_tensor_invariants.disable()  # Adagrad's sparse path; silences its warning

    t0 = time.perf_counter()
    field_rows = [n for _, n in FIELDS]
    if args.embedding == "bag":
        field_base = [sum(field_rows[:j]) for j in range(NUM_FIELDS)]
    else:
        # Two tables: single-valued fields (hashed, then price) in one, the tag lists in the other.
        nh, nb = len(HASHED), len(BAGS)
        singles = field_rows[:nh] + field_rows[-1:]
        base_single = [sum(singles[:j]) for j in range(len(singles))]
        base_bag = [sum(field_rows[nh:nh + k]) for k in range(nb)]
        field_base = base_single[:nh] + base_bag + base_single[nh:]
    train = Split(*read_split(Path(args.data_dir) / "taobao_train_data", field_base), args.embedding)
    test = Split(*read_split(Path(args.data_dir) / "taobao_test_data", field_base), args.embedding)
    n = train.n
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, seed {args.seed}, "
          f"experts {'batched' if args.batched_experts else 'loop'}, embedding {args.embedding}; "
          f"data {n} train / {test.n} test rows, {sum(field_rows)} embedding rows, "
          f"loaded in {time.perf_counter() - t0:.2f}s", flush=True)

    model = DeepRecMMoE(field_rows, args.embedding, args.batched_experts, num_tasks=len(TASKS))
    emb_params = [p_ for name, p_ in model.named_parameters() if "table" in name]
    dense_params = [p_ for name, p_ in model.named_parameters() if "table" not in name]
    adagrad = dict(lr=args.learning_rate, initial_accumulator_value=0.1, eps=1e-10)
    # Sparse gradients take Adagrad's single-tensor path; the dense parameters keep the foreach path.
    optimizers = [torch.optim.Adagrad(emb_params, **adagrad), torch.optim.Adagrad(dense_params, **adagrad)]
    l2_weights = model.l2_weights()
    gen = torch.Generator().manual_seed(args.seed)
    bs = args.batch_size
    batches_per_epoch = math.ceil(n / bs)

    def train_step(idx):
        inputs, y = train.batch(idx)
        logits = model(inputs)
        loss = (F.binary_cross_entropy_with_logits(logits[:, 0], y[:, 0])
                + F.binary_cross_entropy_with_logits(logits[:, 1], y[:, 1]))
        if args.l2 > 0:
            loss = loss + (args.l2 / 2) * torch.stack([torch.sum(w * w) for w in l2_weights]).sum()
        for o in optimizers:
            o.zero_grad(set_to_none=True)
        loss.backward()
        for o in optimizers:
            o.step()
        return loss.detach()

    model.train()
    step, epoch, perm = 0, 0, None
    timed_seconds, timed_samples = 0.0, 0
    window_loss, window_steps = torch.zeros(()), 0
    mark = time.perf_counter()
    while step < args.steps:
        b = step % batches_per_epoch
        if b == 0:
            perm = torch.randperm(n, generator=gen)
            epoch += 1
        idx = perm[b * bs:(b + 1) * bs]
        if step == args.warmup_steps:
            timed_seconds, timed_samples, mark = 0.0, 0, time.perf_counter()
        window_loss += train_step(idx)
        window_steps += 1
        step += 1
        timed_samples += idx.numel()
        if step % args.log_steps == 0 or step == args.steps:
            now = time.perf_counter()
            timed_seconds += now - mark
            print(f"step {step} (epoch {epoch}): loss {window_loss.item() / window_steps:.5f} "
                  f"(mean of the last {window_steps} steps), "
                  f"{timed_samples / timed_seconds if timed_seconds > 0 else float('nan'):.1f} samples/s so far",
                  flush=True)
            window_loss, window_steps = torch.zeros(()), 0
            mark = time.perf_counter()       # the progress line's .item() and print are not timed
    timed_steps = max(step - args.warmup_steps, 0)

    model.eval()
    outs = []
    t_eval = time.perf_counter()
    with torch.no_grad():
        for i in range(0, test.n, args.eval_batch_size):
            inputs, _ = test.batch(torch.arange(i, min(i + args.eval_batch_size, test.n)))
            outs.append(model(inputs))
    eval_seconds = time.perf_counter() - t_eval
    z = torch.cat(outs).numpy()
    y = test.labels.numpy()
    aucs = {t: auc(y[:, k], z[:, k]) for k, t in enumerate(TASKS)}
    losses = {t: logloss(y[:, k], z[:, k]) for k, t in enumerate(TASKS)}
    pooled = auc(y.T.reshape(-1), z.T.reshape(-1))
    print(f"eval after {step} steps ({test.n} rows, {eval_seconds:.2f}s): "
          + ", ".join(f"AUC {t} {aucs[t]:.5f} logloss {losses[t]:.5f}" for t in TASKS)
          + f", AUC pooled {pooled:.5f}", flush=True)

    summary = {
        "framework": "pytorch",
        "torch": torch.__version__,
        "threads": args.threads,
        "steps": step,
        "batch_size": bs,
        "train_samples_per_sec": round(timed_samples / timed_seconds, 1) if timed_seconds > 0 else None,
        "global_steps_per_sec": round(timed_steps / timed_seconds, 3) if timed_seconds > 0 else None,
        "auc": {t: round(aucs[t], 6) for t in TASKS},
        "pooled_auc": round(pooled, 6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "logloss": {t: round(losses[t], 6) for t in TASKS},
        "experts": "batched" if args.batched_experts else "loop",
        "embedding": args.embedding,
        "seed": args.seed,
        "timed_steps": timed_steps,
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
