#!/usr/bin/env bash
# Reproduces the synthetic-data study of the MMoE paper (Ma et al., KDD 2018): two regression tasks
# whose correlation p is a knob, trained with a shared-bottom network, one-gate MoE (OMoE) and MMoE
# of about the same size, several seeds each, then summarised by `mmoe-report paper`.
#
#   Scripts/reproduce_paper.sh                 # the full study into result/paper/
#   Scripts/reproduce_paper.sh --quick         # a tiny version into result/paper_quick/ (checks the pipeline)
#   Scripts/reproduce_paper.sh --lrs 0.01 --seeds 12 --correlations "1.0 0.5 0.0" --out /tmp/study
#   Scripts/reproduce_paper.sh --regime reuse  # the earlier study: 100k rows reused for 8,000 steps, lr 1e-3
#   Scripts/reproduce_paper.sh -- --gate_init zero   # extra flags for every mmoe-train run
#
# Flags:
#   --regime fresh|reuse  fresh (default): every training row is seen once (rows = steps x batch:
#                         384,000 rows, 1,500 steps of 256), the paper's question of how well a model
#                         learns the tasks; reuse: 100,000 rows for 8,000 steps (about 20 epochs), which
#                         measures generalisation from few rows more than the mixtures' fit
#   --lrs "LR..."         Adam learning rates; with more than one, each model takes, at each
#                         correlation, the one with the lowest validation loss (the training loss of
#                         the last quarter's batches, each scored before the model trained on it,
#                         so only with fresh rows) (default: fresh "0.0001 0.001 0.01", the paper's
#                         grid; reuse "0.001"; --quick: fresh "0.001 0.01", reuse "0.001")
#   --quick               tiny data, few steps, two seeds, two correlations (with --regime)
#   --out DIR             where to write (default result/paper, with --quick result/paper_quick)
#   --seeds N             seeds 1..N per model and correlation (default fresh 12, reuse 3; --quick 2)
#   --correlations "P..." task correlations (default "1.0 0.9 0.8 0.7 0.5 0.0"; --quick "1.0 0.5")
#   --models "M..."       models (default "shared_bottom omoe mmoe")
#   --jobs N              runs at a time, each on one thread (default: the number of cores)
#   -- ARGS...            passed to every mmoe-train run after the script's flags (the last repeat wins)
#
# Writes DIR/runs/<model>_p<p>_s<seed>_lr<lr>/ per run (mmoe-train's metrics.jsonl, summary.json
# and train.log, and run.json: model, correlation, seed, learning rate, parameter count), replacing
# DIR/runs/ as a whole; then DIR/runs.csv, DIR/table.md (with the chosen learning rates, the final
# training loss beside the test loss, and each seed's paired differences to MMoE),
# DIR/loss_curves_p<p>.svg, DIR/final_loss_vs_correlation.svg; DIR/gates/mmoe_p<p>.{json,svg}, the
# gate report of MMoE's first seed at each correlation (at its chosen learning rate); and
# DIR/command.txt, the command line and settings that made them.
#
# Binaries: MMOE_TRAIN and MMOE_REPORT name prebuilt ones; otherwise `swift build -c release` builds
# them. The script runs from the repository root wherever it is called from, so relative paths are
# taken from there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

args=("$@")
quick=false
regime=fresh
lrs=""
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
        --regime) regime=${2:?--regime needs fresh or reuse}; shift 2 ;;
        --lrs) lrs=${2:?--lrs needs a list}; shift 2 ;;
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
# layer keeps its ReLU (--expert_relu_on_last), as in the paper; OneFlow's reference leaves it
# linear. The paper does not state the training length or rows; it searched Adam's learning rate
# over 1e-4, 1e-3 and 1e-2. Ours: 10k test rows, batches of 256, and either fresh rows (384k
# rows, 1,500 steps: no row is seen twice, so the models are compared on how well they learn the
# tasks) or the earlier reused rows (100k rows, 8,000 steps, about 20 epochs, a test evaluation at
# each, Adam 1e-3).
case $regime in
    fresh) default_lrs="0.0001 0.001 0.01" default_seeds=12 ;;
    reuse) default_lrs="0.001" default_seeds=3 ;;
    *) echo "reproduce_paper.sh: --regime takes fresh or reuse, got $regime" >&2; exit 2 ;;
esac
if $quick; then
    [[ $regime == reuse ]] || default_lrs="0.001 0.01"
    : "${out:=result/paper_quick}" "${seeds:=2}" "${correlations:=1.0 0.5}" "${lrs:=$default_lrs}"
    d=10 experts=4 expert_units=4 tower_units=4 test_rows=128 batch=64 steps=24 train_rows=1536
    [[ $regime == reuse ]] && steps=48 train_rows=512
else
    : "${out:=result/paper}" "${seeds:=$default_seeds}" "${correlations:=1.0 0.9 0.8 0.7 0.5 0.0}" "${lrs:=$default_lrs}"
    d=100 experts=8 expert_units=16 tower_units=8 test_rows=10000 batch=256 steps=1500 train_rows=384000
    [[ $regime == reuse ]] && steps=8000 train_rows=100000
fi
read -r -a lr_list <<< "$lrs"
(( ${#lr_list[@]} >= 1 )) || { echo "reproduce_paper.sh: --lrs needs at least one learning rate" >&2; exit 2; }
for lr in "${lr_list[@]}"; do
    [[ $lr =~ ^[0-9]*\.?[0-9]+([eE]-?[0-9]+)?$ ]] && awk -v x="$lr" 'BEGIN { exit !(x > 0) }' \
        || { echo "reproduce_paper.sh: --lrs takes positive numbers like 0.01 or 1e-3, got $lr" >&2; exit 2; }
done
# Choosing among learning rates needs a loss on rows the model has not trained on: the training
# loss of a batch is one only while no row is seen twice.
if (( ${#lr_list[@]} > 1 && train_rows < steps * batch )); then
    echo "reproduce_paper.sh: choosing among --lrs \"$lrs\" needs fresh rows (each training batch scored before the model saw it); with --regime $regime the rows are reused, so give one learning rate" >&2
    exit 2
fi
# The training losses the validation figure averages: about 200 records over the run.
print_every=$(( steps / 200 > 0 ? steps / 200 : 1 ))
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
    echo "regime: $regime ($(( steps * batch * 100 / train_rows ))% of an epoch per run: $steps steps of $batch rows)"
    echo "training: $steps steps of $batch rows, Adam lr ${lr_list[*]}$( (( ${#lr_list[@]} > 1 )) && echo " (per model and correlation, the lowest validation loss: the mean training loss of the batches after step $(( steps * 3 / 4 )), each scored before the update it fed)"); extra mmoe-train flags: ${extra[*]:-none}"
    echo "final training loss: the final model on the first $test_rows training rows (--train_eval_rows)"
} > "$out/command.txt"

# One run: trains into its directory; run.json is written last, so a run that failed or was cut off
# has none and the report skips it.
run_one() {
    local model=$1 p=$2 seed=$3 lr=$4
    local dir="$out/runs/${model}_p${p}_s${seed}_lr${lr}"
    local net=(--num_experts "$experts" --expert_dnn "$expert_units" --tower_dnn "$tower_units")
    if [[ $model == shared_bottom || $model == single_task ]]; then net=(--bottom_dnn "$bottom" --tower_dnn "$tower_units"); fi
    if [[ $model == mmoe ]]; then net+=(--gate_report); fi
    mkdir -p "$dir"
    if ! "$train" --model "$model" "${net[@]}" --task_types regression,regression --expert_relu_on_last \
            --synthetic_dim "$d" --correlation "$p" --seed "$seed" \
            --num_train_samples "$train_rows" --num_test_samples "$test_rows" \
            --batch_size "$batch" --train_batches "$steps" --learning_rate "$lr" \
            --loss_print_interval "$print_every" --train_eval_rows "$test_rows" --threads 1 \
            --output_dir "$dir" ${extra[@]+"${extra[@]}"} > "$dir/train.log" 2>&1; then
        echo "reproduce_paper.sh: $model p=$p seed=$seed lr=$lr failed; the end of $dir/train.log:" >&2
        tail -5 "$dir/train.log" >&2
        return 1
    fi
    local params
    params=$(sed -n 's/^Model: .* \([0-9][0-9]*\) parameters.*/\1/p' "$dir/train.log" | head -1)
    printf '{"model": "%s", "correlation": %s, "seed": %s, "learning_rate": %s, "parameters": %s}\n' \
        "$model" "$p" "$seed" "$(awk -v x="$lr" 'BEGIN { printf "%.10g", x }')" "${params:-null}" > "$dir/run.json"
    grep -h '^warning: the gate' "$dir/train.log" | sed "s|^|$model p=$p seed=$seed lr=$lr: |" >&2 || true
    echo "  $model p=$p seed=$seed lr=$lr: ${params:-?} parameters, $(sed -n 's/^mmoe-train: .* in \([0-9.]* s\),.*/\1/p' "$dir/train.log")"
}

start=$SECONDS
total=0
# A run that fails leaves a FAILED marker in its directory; they are counted after every run has
# ended, so no failure is lost to the order in which the jobs finish.
for p in $correlations; do
    for model in $models; do
        for seed in $(seq 1 "$seeds"); do
            for lr in "${lr_list[@]}"; do
                while (( $(jobs -rp | wc -l) >= jobs )); do wait -n || true; done
                { run_one "$model" "$p" "$seed" "$lr" || touch "$out/runs/${model}_p${p}_s${seed}_lr${lr}/FAILED"; } &
                total=$((total + 1))
            done
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

"$report" paper --runs "$out/runs" --out "$out"

# The gate report of MMoE's first seed at each correlation, at the learning rate the report chose
# (runs.csv's chosen column; its run column names the directory).
rm -rf "$out/gates"; mkdir -p "$out/gates"
for p in $correlations; do
    run=$(awk -F, -v p="$p" 'NR > 1 && $1 == "mmoe" && $2 + 0 == p + 0 && $3 == 1 && $NF == "yes" { print $7; exit }' "$out/runs.csv")
    [[ -n $run ]] || continue
    for ext in json svg; do
        src="$out/runs/$run/gate_report.$ext"
        if [[ -f $src ]]; then cp "$src" "$out/gates/mmoe_p${p}.$ext"; fi
    done
done
