#!/usr/bin/env bash
# The issue-17 figures of docs/benchmarks.md, one pytest process per case (each
# builds its own inputs), every process under a memory cap so that a batch that
# does not fit fails alone instead of taking a shared machine down.
#   benchmarks/run_scale.sh [LOG]   (from the worktree root; ~30-40 min on 2 cores)
# CAP (bytes of address space per process, default 8e9) and PY may be overridden.
set -u
log=${1:-/tmp/omnistock-scale-bench.log}
cap=${CAP:-8000000000}
py=${PY:-/work/venv/bin/python}
cases=(
    "test_component_profile and large-1m"
    "test_scale_solve and large-1m and greedy and inprocess"
    "test_scale_solve and large-1m and greedy and pool2"
    "test_scale_solve and large-1m and greedy and cluster2"
    "test_scale_solve and large-1m and optimal and inprocess"
    "test_scale_solve and large-1m and optimal and pool2"
    "test_scale_solve and large-1m and optimal and cluster2"
    "test_scale_solve and large-50k and optimal and inprocess"
    "test_scale_solve and large-50k and optimal and pool2"
    "test_scale_solve and large-50k and optimal and cluster2"
    "test_medium_100k"
    "test_sweep"
)
for k in "${cases[@]}"; do
    echo "== $k | $(date -u +%T) | load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
    PYTHONPATH="$PWD/src" prlimit --as="$cap" -- "$py" -m pytest benchmarks/test_scale.py \
        --benchmark-only -s -q -p no:cacheprovider -k "$k" 2>&1 \
        | grep -E "^(large|medium|inprocess|cluster2|pool2)|MemoryError|passed|failed|Error" \
        | tee -a "$log"
done
