#!/bin/bash
# scripts/test.sh [CTEST ARGS...] - install the dependencies (scripts/deps.sh),
# configure and build a Release build in build/, and run every test (unit,
# integration, miltertest, e2e, fault, evaluation regression) with ctest.
# Without arguments it then builds again with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/) and runs the unit, integration
# and miltertest tests and a short run of each fuzz target there. Extra
# arguments go to the first ctest only, e.g. scripts/test.sh -L e2e or
# scripts/test.sh -R t_00_world. Exit status: non-zero if any run failed.
# The e2e tests need root (each runs a private Postfix or Sendmail).
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
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build --parallel "$(nproc)"
rc=0
(cd build && ctest --output-on-failure "$@") || rc=$?
if (($# == 0)); then
    # Builds that find bugs: the pure and Redis-facing code under ASan and
    # UBSan (clang, so the fuzz targets build too), every parser fuzzed.
    rm -rf build-asan
    CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSG_FUZZ=ON >/dev/null
    cmake --build build-asan --parallel "$(nproc)" >/dev/null
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
        ctest --output-on-failure -L 'unit|integration|miltertest|fuzz' \
        -E eval_regression) || rc=1
fi
exit "$rc"
