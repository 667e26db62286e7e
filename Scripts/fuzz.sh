#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of Tests/Fuzz (issue 19).
#
#   Scripts/fuzz.sh                      build every target, run each for 20 s
#   Scripts/fuzz.sh census_line 3600     build one target, run it for an hour
#   Scripts/fuzz.sh all 0                build only
#   FUZZ_JOBS=4 Scripts/fuzz.sh taobao_line 36000   four parallel fuzzing jobs for ten hours
#
# Targets: census_line taobao_line safetensors row_store options parquet gzip (Tests/Fuzz/Targets/<name>.swift).
# The library modules (Tensor, Datasets, MMoE) are built by SwiftPM in a build directory of their
# own (.build/fuzz) with -sanitize=fuzzer,address, then each target is linked against their
# objects. Each run starts from the seed corpus Tests/Fuzz/Corpus/<target> and grows a working
# corpus in .build/fuzz/corpus/<target> (not committed). A crash leaves crash-* in
# .build/fuzz/artifacts/<target>/ and the script exits non-zero: commit the input under
# Tests/Fuzz/Regressions/<target>/ with an XCTest feeding it through the same call, and fix the bug.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(census_line taobao_line safetensors row_store options parquet gzip)
which=${1:-all}
seconds=${2:-20}
jobs=${FUZZ_JOBS:-1}
sanitizers=${FUZZ_SANITIZERS:-fuzzer,address}
build=.build/fuzz
# The Swift runtime keeps metadata caches for the life of the process, which LeakSanitizer reports
# at exit; leaks are not what these targets look for.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

if [[ $which == all ]]; then selected=("${TARGETS[@]}"); else selected=("$which"); fi
for t in "${selected[@]}"; do
    [[ -f Tests/Fuzz/Targets/$t.swift ]] || { echo "fuzz.sh: no target $t (have: ${TARGETS[*]})" >&2; exit 2; }
done

echo "fuzz.sh: building Tensor, Datasets, MMoE with -sanitize=$sanitizers in $build"
swift build -c debug --build-path "$build" --target MMoE \
    -Xswiftc "-sanitize=$sanitizers" -Xswiftc -enable-testing >&2
objects=()
for m in Tensor Datasets MMoE; do
    while IFS= read -r o; do objects+=("$o"); done < <(find "$build/debug/$m.build" -name '*.o' | sort)
done
modules="$build/debug/Modules"
[[ -d $modules ]] || modules="$build/debug"

status=0
for t in "${selected[@]}"; do
    exe="$build/bin/$t"
    mkdir -p "$build/bin" "$build/corpus/$t" "$build/artifacts/$t"
    echo "fuzz.sh: linking $exe"
    swiftc -sanitize="$sanitizers" -parse-as-library -Onone -I "$modules" -module-name "Fuzz_$t" \
        Tests/Fuzz/Targets/FuzzSupport.swift "Tests/Fuzz/Targets/$t.swift" "${objects[@]}" -o "$exe" 2> >(grep -v "Cannot export local symbol" >&2)
    [[ $seconds == 0 ]] && continue
    echo "fuzz.sh: running $t for $seconds s ($jobs job(s))"
    seeds=Tests/Fuzz/Corpus/$t
    parallel=()
    [[ $jobs -gt 1 ]] && parallel=(-jobs="$jobs" -workers="$jobs")
    if ! "$exe" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 -detect_leaks=0 \
            "${parallel[@]}" -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "$seeds"; then
        echo "fuzz.sh: $t FAILED; inputs in $build/artifacts/$t/" >&2
        status=1
    fi
done
exit $status
