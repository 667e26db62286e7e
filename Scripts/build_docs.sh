#!/usr/bin/env bash
# Builds the DocC documentation of the Tensor, Datasets and MMoE modules into
# .build/docs/<Module>.doccarchive (static hosting layout: open index.html through a web server, or
# `docc preview`), and fails on any DocC warning or broken link.
#
#   1. `swift build -c release` (nothing to do when CI has just built the release binaries);
#   2. symbol graphs of the three library modules from that build's .swiftmodule files, with the
#      toolchain's swift-symbolgraph-extract (public symbols, no second compilation);
#   3. the toolchain's own `docc convert` for each catalog, with --warnings-as-errors, so an
#      unresolved <doc:...> or ``symbol`` link, a bad anchor or any other warning stops the script;
#   4. Scripts/check_doc_links.py for the relative Markdown links of README.md and the articles,
#      which docc does not check.
#
# Usage: Scripts/build_docs.sh            Exit status 0 only when every step is clean.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain_bin=$(dirname "$(readlink -f "$(command -v swift)")")
docc="$toolchain_bin/docc"
[ -x "$docc" ] || docc=$(command -v docc) || { echo "build_docs: no docc in the Swift toolchain ($toolchain_bin)" >&2; exit 1; }
extract="$toolchain_bin/swift-symbolgraph-extract"
[ -x "$extract" ] || extract=$(command -v swift-symbolgraph-extract) || { echo "build_docs: no swift-symbolgraph-extract in the Swift toolchain" >&2; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! swift build -c release >"$log" 2>&1; then
    cat "$log" >&2
    echo "build_docs: swift build -c release failed" >&2
    exit 1
fi
bin=$(swift build -c release --show-bin-path)
modules="$bin/Modules"
[ -d "$modules" ] || modules="$bin"
triple=$(swift -print-target-info | sed -n 's/^ *"triple": "\(.*\)",*$/\1/p' | head -1)

out=.build/docs
status=0
for module in Tensor Datasets MMoE; do
    graphs="$out/symbol-graphs/$module"
    rm -rf "$graphs" "$out/$module.doccarchive"
    mkdir -p "$graphs"
    "$extract" -module-name "$module" -I "$modules" -target "$triple" \
        -minimum-access-level public -skip-synthesized-members -output-dir "$graphs"
    if "$docc" convert "Sources/$module/$module.docc" \
        --additional-symbol-graph-dir "$graphs" \
        --output-dir "$out/$module.doccarchive" \
        --fallback-display-name "$module" \
        --fallback-bundle-identifier "mmoe-swift.$module" \
        --warnings-as-errors >"$log" 2>&1; then
        echo "build_docs: $module -> $out/$module.doccarchive"
    else
        cat "$log" >&2
        echo "build_docs: docc reported warnings or errors for $module" >&2
        status=1
    fi
done
python3 Scripts/check_doc_links.py || status=1
exit "$status"
