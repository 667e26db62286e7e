#!/usr/bin/env bash
# Trains MMoE on Census-Income with the flags of OneFlow's train_mmoe.sh (the example whose command
# line mmoe-train keeps), on the CPU, with the release build of mmoe-train.
#
#   Scripts/train_mmoe.sh
#   DATA_DIR=/data/census THREADS=2 Scripts/train_mmoe.sh --train_batches 1000 --seed 7
#   DATA_DIR=/data/mmoe_parquet Scripts/train_mmoe.sh     # OneFlow's train/ and test/ Parquet folders
#
# DATA_DIR holds either the raw files (census-income.data[.gz] and census-income.test[.gz]) or the
# folder OneFlow's tools/mmoe_parquet.py writes (train/ and test/ of part-*.parquet).
#
# Extra arguments go to mmoe-train after the reference flags; a repeated flag takes its last value,
# so they override. The script runs from the repository root wherever it is called from, so
# relative paths, in the variables below and in the arguments, are taken from the repository root.
# As in OneFlow, the embedding table persists in PERSISTENT_PATH (--store_type cached_host_mem): a
# second run resumes its rows (the dense layers start afresh); delete the directory to start over.
#
# Several processes (see Sources/MMoE/MMoE.docc/Distributed.md), with OneFlow's launch variables:
#
#   DEVICE_NUM_PER_NODE=2 Scripts/train_mmoe.sh                     # 2 ranks on this machine
#   DEVICE_NUM_PER_NODE=2 NNODES=4 NODE_RANK=0 MASTER_ADDR=10.0.0.1 HOSTFILE=hosts Scripts/train_mmoe.sh
#
# OneFlow runs its launcher on every node; here the one `mpirun` on node 0 (MASTER_ADDR, where this
# is run with NODE_RANK=0) starts every node's ranks over ssh, from HOSTFILE (one line per node,
# `<address> slots=<DEVICE_NUM_PER_NODE>`); on the other nodes (NODE_RANK > 0) the script has
# nothing to do. Each rank gets THREADS threads (default: the cores / DEVICE_NUM_PER_NODE), and its
# embedding store under PERSISTENT_PATH/<rank>-<world size>. MPI_ARGS adds mpirun flags, e.g.
# MPI_ARGS="--mca btl tcp,self".
set -euo pipefail

DEVICE_NUM_PER_NODE=${DEVICE_NUM_PER_NODE:-1}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
HOSTFILE=${HOSTFILE:-}
MPI_ARGS=${MPI_ARGS:-}
WORLD=$((DEVICE_NUM_PER_NODE * NNODES))
if (( WORLD > 1 )); then
    THREADS=${THREADS:-$(( $(nproc) / DEVICE_NUM_PER_NODE > 0 ? $(nproc) / DEVICE_NUM_PER_NODE : 1 ))}
fi

DATA_DIR=${DATA_DIR:-./data/census}
PERSISTENT_PATH=${PERSISTENT_PATH:-./result/persistent}
MODEL_SAVE_DIR=${MODEL_SAVE_DIR:-./result/model}
OUTPUT_DIR=${OUTPUT_DIR:-./result}
THREADS=${THREADS:-0}   # 0 = all cores

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=.build/release/mmoe-train
LAUNCH=()
if (( WORLD > 1 )); then
    if (( NODE_RANK > 0 )); then
        echo "train_mmoe.sh: node $NODE_RANK: nothing to start here; mpirun on node 0 ($MASTER_ADDR) starts this node's ranks over ssh"
        exit 0
    fi
    if (( NNODES > 1 )) && [[ -z $HOSTFILE ]]; then
        echo "train_mmoe.sh: NNODES=$NNODES needs HOSTFILE (one line per node: <address> slots=$DEVICE_NUM_PER_NODE), node 0 ($MASTER_ADDR) first" >&2
        exit 2
    fi
    BIN=.build-mpi/release/mmoe-train
    LAUNCH=(mpirun -np "$WORLD" --map-by "ppr:$DEVICE_NUM_PER_NODE:node" --bind-to none)
    [[ -n $HOSTFILE ]] && LAUNCH+=(--hostfile "$HOSTFILE")
    [[ $(id -u) == 0 ]] && LAUNCH+=(--allow-run-as-root)
    # shellcheck disable=SC2206
    LAUNCH+=($MPI_ARGS)
    if [[ ! -x $BIN || -n $(find Sources Package.swift -newer "$BIN" -print -quit) ]]; then
        swift build -c release --traits MPI --scratch-path .build-mpi --product mmoe-train
    fi
elif [[ ! -x $BIN || -n $(find Sources Package.swift -newer "$BIN" -print -quit) ]]; then
    swift build -c release --product mmoe-train
fi

# OneFlow's script also passes --num_train_samples 199523 --num_test_samples 99762. Both flags exist
# here too, but by default every row of the files is used, which for Census-Income is exactly those
# counts; pass them to train or test on fewer rows.
exec "${LAUNCH[@]}" "$BIN" \
    --data_dir "$DATA_DIR" \
    --persistent_path "$PERSISTENT_PATH" \
    --table_size_array "9, 52, 47, 17, 3, 24, 15, 5, 10, 2, 3, 6, 8, 6, 6, 51, 38, 8, 10, 9, 10, 3, 4, 5, 43, 43, 43, 5, 3" \
    --store_type 'cached_host_mem' \
    --cache_memory_budget_mb 1024 \
    --batch_size 256 \
    --train_batches 16000 \
    --loss_print_interval 100 \
    --learning_rate 0.001 \
    --embedding_vec_size 4 \
    --expert_dnn "256, 128" \
    --model_save_dir "$MODEL_SAVE_DIR" \
    --output_dir "$OUTPUT_DIR" \
    --threads "$THREADS" \
    "$@"
