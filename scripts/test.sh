#!/bin/bash
# scripts/test.sh [CTEST ARGS...] - install the dependencies (scripts/deps.sh),
# configure and build a Release build in build/, and run every test (unit,
# integration, miltertest, e2e, fault, stress: 500 concurrent sessions,
# evaluation regression) with ctest.
# Without arguments (what CI runs) it then also
#   1. starts the 10-minute soak in the background (tests/stress/soak.sh:
#      a fixed 50 msgs/s through build/'s subguard, memory sampled);
#   2. builds again with clang, AddressSanitizer and UndefinedBehaviorSanitizer
#      (build-asan/) and runs the unit, integration (eval_regression
#      included) and miltertest tests and a short run of each fuzz target
#      there; a leak fails too;
#   3. builds with ThreadSanitizer and plain for valgrind (build-san/) and
#      runs tests/fault/sanitizers.sh tsan valgrind: the concurrency tests
#      and three fault tests with load (a Redis crash, reloads, idle
#      sessions) under TSan, the integration programs and miltertest with
#      subguard under valgrind; any report not in tests/tsan.supp fails;
#   4. checks the soak (waiting for its end): every message accepted, no
#      error, resident memory flat after the warm-up.
# Each stage's duration is printed at the end. Extra arguments go to the
# first ctest only, e.g. scripts/test.sh -L e2e or scripts/test.sh -R
# t_00_world, and skip the rest. Exit status: non-zero if any run failed.
# The e2e, fault and stress tests need root (a private Postfix or Sendmail).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
# A build/ configured for another checkout (or committed by mistake) makes
# cmake refuse or make skip stale objects: start afresh then, and always in CI.
if [[ -e build && ( ${CI:-} == true || ! -f build/CMakeCache.txt ) ]] ||
    { [[ -f build/CMakeCache.txt ]] &&
        ! grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$PWD" build/CMakeCache.txt; }; then
    echo "test.sh: removing build/ for a clean configure"
    rm -rf build
fi
declare -A took=()
stages=()
# stage NAME - note the start of a stage (durations reported at the end)
stage() {
    stages+=("$1")
    took[$1]=$SECONDS
    echo "test.sh: === $1 ($(date '+%T'))"
}
# done_stage NAME - note its end
done_stage() {
    took[$1]=$((SECONDS - ${took[$1]}))
}

stage build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "$(nproc)"
done_stage build
rc=0
stage ctest
(cd build && ctest --output-on-failure "$@") || rc=$?
done_stage ctest
if (($# == 0)); then
    export SG_BUILD=$PWD/build SG_SRC=$PWD
    # The soak runs while the sanitizer stages build and test: it is light
    # (a few percent of one core) and its 10 minutes would otherwise be
    # spent waiting.
    soak=0
    SG_SOAK_DIR=$PWD/build/soak bash tests/stress/soak.sh start || soak=1

    # Builds that find bugs: the pure and Redis-facing code under ASan and
    # UBSan (clang, so the fuzz targets build too), every parser fuzzed.
    stage asan
    rm -rf build-asan
    CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSG_FUZZ=ON >/dev/null
    cmake --build build-asan --parallel "$(nproc)" >/dev/null
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
        ctest --output-on-failure -L 'unit|integration|miltertest|fuzz') || rc=1
    done_stage asan

    # ThreadSanitizer over the concurrency tests, valgrind over the
    # integration programs and the daemon.
    stage tsan+valgrind
    rm -rf build-san
    SG_SAN_DIR=$PWD/build-san bash tests/fault/sanitizers.sh tsan valgrind || rc=1
    done_stage tsan+valgrind

    stage soak-check
    if ((soak == 0)); then
        SG_SOAK_DIR=$PWD/build/soak bash tests/stress/soak.sh check || rc=1
    else
        echo "test.sh: the soak did not start"
        rc=1
    fi
    done_stage soak-check
fi
echo "test.sh: stage durations (s):"
for s in "${stages[@]}"; do
    printf '  %-14s %5d\n' "$s" "${took[$s]}"
done
printf '  %-14s %5d\n' total "$SECONDS"
exit "$rc"
