#!/usr/bin/env bash
# Rows parsed and CPU time per rank, `mpirun -np 2` with each rank parsing its share of a streamed
# Taobao file (`--rank_input share`) against every rank reading it whole (`--rank_input whole`),
# alternating ROUNDS times, on the Taobao sample and on a larger file made by repeating it COPIES
# times. One epoch of training on a small model (so the input is a visible part of the work),
# 1 thread per rank, no evaluation. Prints, per run: each rank's user+system CPU seconds (from
# /usr/bin/time), the rows each parsed (summary.json), the run's samples/s and rank 0's bytes sent
# per step. Needs the MPI build (`swift build -c release --traits MPI --scratch-path .build-mpi`).
#
#   Scripts/rank_input_cpu.sh [ROUNDS] [COPIES]     (default 2 rounds, a file 20 times the sample)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS=${1:-2}
COPIES=${2:-20}
BIN=$PWD/.build-mpi/release/mmoe-train
[[ -x $BIN ]] || { echo "rank_input_cpu.sh: no $BIN; build it with: swift build -c release --traits MPI --scratch-path .build-mpi" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "rank_input_cpu.sh: needs /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
TAOBAO=${TAOBAO:-../shared/data/taobao}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The larger file: the sample's training rows COPIES times (its test file as is).
mkdir -p "$work/large"
for _ in $(seq 1 "$COPIES"); do cat "$TAOBAO/taobao_train_data"; done > "$work/large/taobao_train_data"
cp "$TAOBAO/taobao_test_data" "$work/large/"

run() {  # name, data dir, mode
    local name=$1 dir=$2 mode=$3 out="$work/out-$1-$3"
    local rows batches
    rows=$(wc -l < "$dir/taobao_train_data")
    batches=$(( (rows + 511) / 512 ))
    rm -rf "$out"
    # Each rank under /usr/bin/time, writing to a file named after its rank.
    mpirun -np 2 --bind-to none bash -c 'exec /usr/bin/time -f "cpu %U %S" -o "$0-$OMPI_COMM_WORLD_RANK" "$@"' "$work/time" \
        "$BIN" --data_location "$dir" --steps "$batches" --no_eval --threads 1 --expert_dnn 16,8 --tower_dnn 8 \
        --rank_input "$mode" --loss_print_interval 1000000 --output_dir "$out" > "$work/log" 2>&1 \
        || { cat "$work/log" >&2; exit 1; }
    python3 - "$out/summary.json" "$name $mode" "$work" <<'PY'
import json, sys, glob
s = json.load(open(sys.argv[1]))
d = s.get("distributed", {})
cpu = []
for r in (0, 1):
    u, sy = open(f"{sys.argv[3]}/time-{r}").read().split()[1:3]
    cpu.append(float(u) + float(sy))
print(f"{sys.argv[2]:<16} cpu s per rank {cpu[0]:7.2f} {cpu[1]:7.2f}   rows parsed per rank {d.get('rows_parsed_per_rank')}   "
      f"{s['train']['samples_per_sec']:>8.0f} samples/s   rank 0 bytes/step {d.get('rank0_bytes_sent_per_step', 0)}")
PY
}
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r"
    for name in sample large; do
        dir=$TAOBAO; [[ $name == large ]] && dir=$work/large
        run "$name" "$dir" whole
        run "$name" "$dir" share
    done
done
