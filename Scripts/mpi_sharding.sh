#!/usr/bin/env bash
# --embedding_sharding replicated against key, side by side: `mpirun -np N` (default 2) ranks of
# 1 thread each on Census with EmbeddingVariable rows (--ev True) and on DeepRec's Taobao
# configuration with --ev True, alternating the two layouts ROUNDS times. Prints each run's
# training samples/s (summary.json) and rank 0's bytes sent per step (dense exchange, key and row
# exchanges, gradient rows). Needs the MPI build
# (`swift build -c release --traits MPI --scratch-path .build-mpi`); evaluation is off.
#
#   Scripts/mpi_sharding.sh [ROUNDS] [STEPS] [RANKS]     (default 2 rounds of 200 steps on 2 ranks)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS=${1:-2}
STEPS=${2:-200}
RANKS=${3:-2}
BIN=${BIN:-.build-mpi/release/mmoe-train}
[[ -x $BIN ]] || { echo "mpi_sharding.sh: no $BIN; build it with: swift build -c release --traits MPI --scratch-path .build-mpi" >&2; exit 2; }
CENSUS=${CENSUS:-../shared/data/census}
TAOBAO=${TAOBAO:-../shared/data/taobao}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

census=(--data_dir "$CENSUS" --ev True --batch_size 256 --learning_rate 0.001 --embedding_vec_size 4
        --expert_dnn "256, 128" --loss_print_interval 1000000 --no_eval --train_batches "$STEPS" --threads 1)
taobao=(--data_location "$TAOBAO" --ev True --steps "$STEPS" --no_eval --threads 1)

run() {  # name, flags...
    local name=$1; shift
    local out="$work/$name"
    rm -rf "$out"
    mpirun -np "$RANKS" --oversubscribe --bind-to none "$BIN" "$@" --output_dir "$out" > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
    python3 - "$out/summary.json" "$name" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
d = s.get("distributed", {})
print(f"{sys.argv[2]:<28} {s['train']['samples_per_sec']:>10.0f} samples/s   bytes/step/rank {d.get('rank0_bytes_sent_per_step', 0)}")
PY
}
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r ($RANKS ranks)"
    for layout in replicated key; do run "census-ev-$layout" "${census[@]}" --embedding_sharding "$layout"; done
    for layout in replicated key; do run "taobao-ev-$layout" "${taobao[@]}" --embedding_sharding "$layout"; done
done
