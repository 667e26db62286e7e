#!/usr/bin/env bash
# Side by side on one machine: `mpirun -np 2` ranks of 1 thread each against one process of 2
# threads, on the Census reference configuration (Scripts/train_mmoe.sh's flags) and on DeepRec's
# Taobao configuration, alternating the runs ROUNDS times; also the 2 ranks over TCP
# (`--mca btl tcp,self`, what separate machines use). Prints each run's training samples/s (from
# summary.json) and rank 0's bytes sent per step. Needs the MPI build
# (`swift build -c release --traits MPI --scratch-path .build-mpi`); evaluation is off.
#
#   Scripts/mpi_speed.sh [ROUNDS] [STEPS]     (default 3 rounds of 300 steps)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS=${1:-3}
STEPS=${2:-300}
BIN=.build-mpi/release/mmoe-train
[[ -x $BIN ]] || { echo "mpi_speed.sh: no $BIN; build it with: swift build -c release --traits MPI --scratch-path .build-mpi" >&2; exit 2; }
CENSUS=${CENSUS:-../shared/data/census}
TAOBAO=${TAOBAO:-../shared/data/taobao}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

census=(--data_dir "$CENSUS" --table_size_array "9, 52, 47, 17, 3, 24, 15, 5, 10, 2, 3, 6, 8, 6, 6, 51, 38, 8, 10, 9, 10, 3, 4, 5, 43, 43, 43, 5, 3"
        --store_type cached_host_mem --cache_memory_budget_mb 1024 --batch_size 256 --learning_rate 0.001 --embedding_vec_size 4
        --expert_dnn "256, 128" --loss_print_interval 1000000 --no_eval --train_batches "$STEPS")
taobao=(--data_location "$TAOBAO" --steps "$STEPS" --no_eval)

run() {  # name, launcher..., -- flags...
    local name=$1; shift
    local out="$work/$name"
    rm -rf "$out" "$work/persistent"
    "$@" --output_dir "$out" > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
    python3 - "$out/summary.json" "$name" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
d = s.get("distributed", {})
print(f"{sys.argv[2]:<32} {s['train']['samples_per_sec']:>10.0f} samples/s   bytes/step/rank {d.get('rank0_bytes_sent_per_step', 0)}")
PY
}
mpi=(mpirun -np 2 --bind-to none)
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r"
    run census-1proc-2threads "$BIN" "${census[@]}" --persistent_path "$work/persistent" --threads 2
    run census-2ranks-1thread "${mpi[@]}" "$BIN" "${census[@]}" --persistent_path "$work/persistent" --threads 1
    run census-2ranks-1thread-tcp "${mpi[@]}" --mca btl tcp,self "$BIN" "${census[@]}" --persistent_path "$work/persistent" --threads 1
    run taobao-1proc-2threads "$BIN" "${taobao[@]}" --threads 2
    run taobao-2ranks-1thread "${mpi[@]}" "$BIN" "${taobao[@]}" --threads 1
    run taobao-2ranks-1thread-tcp "${mpi[@]}" --mca btl tcp,self "$BIN" "${taobao[@]}" --threads 1
done
