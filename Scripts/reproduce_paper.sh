#!/usr/bin/env bash
# Reproduces the synthetic-data study of the MMoE paper (Ma et al., KDD 2018): two regression tasks
# whose correlation p is a knob, trained with a shared-bottom network, one-gate MoE (OMoE) and MMoE
# of about the same size, several seeds each, then summarised by `mmoe-report paper`.
#
#   Scripts/reproduce_paper.sh                 # the full study into result/paper/
#   Scripts/reproduce_paper.sh --quick         # a tiny version into result/paper_quick/ (checks the pipeline)
#   Scripts/reproduce_paper.sh --seeds 5 --correlations "1.0 0.5 0.0" --out /tmp/study
#   Scripts/reproduce_paper.sh -- --learning_rate 0.002   # extra flags for every mmoe-train run
#
# Flags:
#   --quick               tiny data, few steps, one seed, two correlations
#   --out DIR             where to write (default result/paper, with --quick result/paper_quick)
#   --seeds N             seeds 1..N per model and correlation (default 3; --quick 1)
#   --correlations "P..." task correlations (default "1.0 0.9 0.8 0.7 0.5 0.0"; --quick "1.0 0.5")
#   --models "M..."       models (default "shared_bottom omoe mmoe")
#   --jobs N              runs at a time, each on one thread (default: the number of cores)
#   -- ARGS...            passed to every mmoe-train run after the script's flags (the last repeat wins)
#
# Writes DIR/runs/<model>_p<p>_s<seed>/ per run (mmoe-train's metrics.jsonl, summary.json and
# train.log, and run.json: model, correlation, seed, parameter count), replacing DIR/runs/ as a
# whole; then DIR/runs.csv, DIR/table.md, DIR/loss_curves_p<p>.svg, DIR/final_loss_vs_correlation.svg;
# DIR/gates/mmoe_p<p>.{json,svg}, the gate report of MMoE's first seed at each correlation; and
# DIR/command.txt, the command line and settings that made them.
#
# Binaries: MMOE_TRAIN and MMOE_REPORT name prebuilt ones; otherwise `swift build -c release` builds
# them. The script runs from the repository root wherever it is called from, so relative paths are
# taken from there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

args=("$@")
quick=false
out=""
seeds=""
correlations=""
models="shared_bottom omoe mmoe"
jobs=$(nproc 2>/dev/null || echo 2)
extra=()
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
while (($#)); do
    case $1 in
        --quick) quick=true; shift ;;
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --seeds) seeds=${2:?--seeds needs a count}; shift 2 ;;
        --correlations) correlations=${2:?--correlations needs a list}; shift 2 ;;
        --models) models=${2:?--models needs a list}; shift 2 ;;
        --jobs) jobs=${2:?--jobs needs a count}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "reproduce_paper.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $seeds =~ ^[0-9]*$ && $jobs =~ ^[1-9][0-9]*$ ]] || { echo "reproduce_paper.sh: --seeds and --jobs take positive integers" >&2; exit 2; }

# The paper's network (8 experts of one 16-unit ReLU layer, towers of one 8-unit layer, linear
# softmax gates on the input, Adam) on its data (d = 100). The experts' and the shared bottom's
# layer keeps its ReLU (--expert_relu_on_last), as in the paper; OneFlow's reference leaves it linear. The notes we follow do not state the training
# length, rows or learning rate; these are ours: 100k training and 10k test rows, batches of 256,
# 8000 steps (about 20 epochs, a test evaluation at each), Adam at 1e-3.
if $quick; then
    : "${out:=result/paper_quick}" "${seeds:=1}" "${correlations:=1.0 0.5}"
    d=10 experts=4 expert_units=4 tower_units=4 train_rows=512 test_rows=128 batch=64 steps=24
else
    : "${out:=result/paper}" "${seeds:=3}" "${correlations:=1.0 0.9 0.8 0.7 0.5 0.0}"
    d=100 experts=8 expert_units=16 tower_units=8 train_rows=100000 test_rows=10000 batch=256 steps=8000
fi
(( seeds >= 1 )) || { echo "reproduce_paper.sh: --seeds must be at least 1" >&2; exit 2; }
seeds=$((10#$seeds))
# The study sizes three models at equal parameter count; others need flags this script does not set.
for model in $models; do
    case $model in shared_bottom|omoe|mmoe) ;; *) echo "reproduce_paper.sh: --models takes shared_bottom, omoe and mmoe, got $model" >&2; exit 2 ;; esac
done
# Correlations go into run.json as they are written, so they must be JSON numbers in [-1, 1].
for p in $correlations; do
    [[ $p =~ ^-?[0-9]+(\.[0-9]+)?$ ]] && awk -v p="$p" 'BEGIN { exit !(p >= -1 && p <= 1) }' \
        || { echo "reproduce_paper.sh: --correlations takes numbers in [-1, 1] written like 0.5, got $p" >&2; exit 2; }
done
lr=0.001
tasks=2

# Parameter counts, as the models are built (biases on every layer but the gates' linear maps):
#   mmoe:          E (d h + h) + T d E + T (h t + t) + T (t + 1)
#   omoe:          E (d h + h) +   d E + T (h t + t) + T (t + 1)
#   shared_bottom: (d b + b)   + T (b t + t) + T (t + 1), with the bottom width b chosen so the
#                  count is nearest MMoE's: b = round((mmoe - T t - T (t + 1)) / (d + 1 + T t)).
mmoe_params=$(( experts * (d * expert_units + expert_units) + tasks * d * experts
                + tasks * (expert_units * tower_units + tower_units) + tasks * (tower_units + 1) ))
omoe_params=$(( mmoe_params - (tasks - 1) * d * experts ))
den=$(( d + 1 + tasks * tower_units ))
bottom=$(( (2 * (mmoe_params - tasks * tower_units - tasks * (tower_units + 1)) + den) / (2 * den) ))
sb_params=$(( d * bottom + bottom + tasks * (bottom * tower_units + tower_units) + tasks * (tower_units + 1) ))
echo "reproduce_paper.sh: parameters (computed): mmoe $mmoe_params, omoe $omoe_params, shared_bottom $sb_params (bottom of $bottom units)"

if [[ -n ${MMOE_TRAIN:-} && -n ${MMOE_REPORT:-} ]]; then
    train=$MMOE_TRAIN report=$MMOE_REPORT
else
    swift build -c release --product mmoe-train
    swift build -c release --product mmoe-report
    train=${MMOE_TRAIN:-.build/release/mmoe-train} report=${MMOE_REPORT:-.build/release/mmoe-report}
fi
for bin in "$train" "$report"; do [[ -x $bin ]] || { echo "reproduce_paper.sh: $bin is not an executable" >&2; exit 2; }; done
help_text=$("$train" --help) || { echo "reproduce_paper.sh: $train --help failed" >&2; exit 2; }
if ! grep -q -- --task_types <<< "$help_text"; then
    echo "reproduce_paper.sh: $train has no --task_types flag (it predates the regression tasks and baselines this study needs)" >&2
    exit 2
fi

mkdir -p "$out"
rm -rf "$out/runs"
mkdir -p "$out/runs"
{
    echo "# made by: Scripts/reproduce_paper.sh$(printf " %q" ${args[@]+"${args[@]}"})"
    echo "# on $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo 'no git') $(git diff --quiet 2>/dev/null || echo '(with local changes)')"
    echo "models: $models"
    echo "correlations: $correlations"
    echo "seeds: 1..$seeds"
    echo "data: synthetic, d=$d, $train_rows train / $test_rows test rows, regression tasks (MSE)"
    echo "network: $experts experts of $expert_units ReLU units, towers of $tower_units; shared bottom of $bottom ReLU units"
    echo "parameters (computed): mmoe $mmoe_params, omoe $omoe_params, shared_bottom $sb_params"
    echo "training: $steps steps of $batch rows, Adam lr $lr; extra mmoe-train flags: ${extra[*]:-none}"
} > "$out/command.txt"

# One run: trains into its directory; run.json is written last, so a run that failed or was cut off
# has none and the report skips it.
run_one() {
    local model=$1 p=$2 seed=$3
    local dir="$out/runs/${model}_p${p}_s${seed}"
    local net=(--num_experts "$experts" --expert_dnn "$expert_units" --tower_dnn "$tower_units")
    if [[ $model == shared_bottom || $model == single_task ]]; then net=(--bottom_dnn "$bottom" --tower_dnn "$tower_units"); fi
    if [[ $model == mmoe ]]; then net+=(--gate_report); fi
    mkdir -p "$dir"
    if ! "$train" --model "$model" "${net[@]}" --task_types regression,regression --expert_relu_on_last \
            --synthetic_dim "$d" --correlation "$p" --seed "$seed" \
            --num_train_samples "$train_rows" --num_test_samples "$test_rows" \
            --batch_size "$batch" --train_batches "$steps" --learning_rate "$lr" \
            --loss_print_interval $(( steps / 8 > 0 ? steps / 8 : 1 )) --threads 1 \
            --output_dir "$dir" ${extra[@]+"${extra[@]}"} > "$dir/train.log" 2>&1; then
        echo "reproduce_paper.sh: $model p=$p seed=$seed failed; the end of $dir/train.log:" >&2
        tail -5 "$dir/train.log" >&2
        return 1
    fi
    local params
    params=$(sed -n 's/^Model: .* \([0-9][0-9]*\) parameters.*/\1/p' "$dir/train.log" | head -1)
    printf '{"model": "%s", "correlation": %s, "seed": %s, "parameters": %s}\n' "$model" "$p" "$seed" "${params:-null}" > "$dir/run.json"
    grep -h '^warning: the gate' "$dir/train.log" | sed "s|^|$model p=$p seed=$seed: |" >&2 || true
    echo "  $model p=$p seed=$seed: ${params:-?} parameters, $(sed -n 's/^mmoe-train: .* in \([0-9.]* s\),.*/\1/p' "$dir/train.log")"
}

start=$SECONDS
total=0
# A run that fails leaves a FAILED marker in its directory; they are counted after every run has
# ended, so no failure is lost to the order in which the jobs finish.
for p in $correlations; do
    for model in $models; do
        for seed in $(seq 1 "$seeds"); do
            while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || true; done
            { run_one "$model" "$p" "$seed" || touch "$out/runs/${model}_p${p}_s${seed}/FAILED"; } &
            total=$((total + 1))
        done
    done
done
wait
failed=$(find "$out/runs" -name FAILED | wc -l)
echo "reproduce_paper.sh: $((total - failed)) of $total runs done in $((SECONDS - start)) s"
(( failed == 0 )) || { echo "reproduce_paper.sh: $failed runs failed (see their train.log)" >&2; exit 1; }

# The parameter counts mmoe-train reported, against the computed ones above.
for model in $models; do
    reported=$(cat "$out"/runs/"${model}"_p*_s*/run.json 2>/dev/null | sed -n 's/.*"parameters": \([0-9]*\).*/\1/p' | sort -u | paste -sd' ' - || true)
    echo "reproduce_paper.sh: parameters reported by mmoe-train: $model ${reported:-unknown}" | tee -a "$out/command.txt"
done

mkdir -p "$out/gates"
for p in $correlations; do
    for ext in json svg; do
        src="$out/runs/mmoe_p${p}_s1/gate_report.$ext"
        if [[ -f $src ]]; then cp "$src" "$out/gates/mmoe_p${p}.$ext"; fi
    done
done
"$report" paper --runs "$out/runs" --out "$out"
