#!/bin/bash
# scripts/test.sh [CTEST ARGS...] - install the dependencies (scripts/deps.sh),
# configure and build a Release build in build/, and run every test (unit,
# integration, miltertest, e2e) with ctest. Extra arguments go to ctest, e.g.
# scripts/test.sh -L e2e  or  scripts/test.sh -R t_00_world. The exit status
# is ctest's. The e2e tests need root (each runs a private Postfix).
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
cd build
rc=0
ctest --output-on-failure "$@" || rc=$?
exit "$rc"
