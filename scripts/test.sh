#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this): install packages, then
#   1. build with -Werror and run every test (unit, integration, real PostgreSQL, real wsusd),
#   2. build with ASan+UBSan and run every test again,
#   3. build the libFuzzer targets with clang and run each for a bounded time,
#   4. check formatting, banned functions, SQL outside the owner modules (scripts/check-sql.sh)
#      and circles between modules (scripts/check-circles.py).
# Usage: scripts/test.sh [--quick]   (--quick: step 1 only)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
quick=${1:-}

echo "== build (-Werror) and test"
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSUS_WERROR=ON >/dev/null
cmake --build build/test -j"$jobs"
(cd build/test && ctest --output-on-failure -j"$jobs")

if [ "$quick" = "--quick" ]; then exit 0; fi

echo "== build with ASan+UBSan and test"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DWSUS_SANITIZE=ON >/dev/null
cmake --build build/asan -j"$jobs"
(cd build/asan && ctest --output-on-failure -j"$jobs")

if ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
    echo "== fuzzers (clang, bounded time)"
    CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSUS_FUZZ=ON \
        -DWSUS_SANITIZE=ON -DWSUS_FUZZ_SECONDS="${WSUS_FUZZ_SECONDS:-30}" >/dev/null
    cmake --build build/fuzz -j"$jobs"
    (cd build/fuzz && ctest --output-on-failure -R '^fuzz\.')
fi

echo "== style"
cmake --build build/test --target format-check
bash scripts/check-sql.sh
python3 scripts/check-circles.py build/test
if git grep -n -E '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\s*\(' -- '*.c' '*.h' |
    grep -v -E '^\S+:\s*(//|\*)'; then
    echo "banned functions found (use bounded, checked alternatives)" >&2
    exit 1
fi
echo "all checks passed"
