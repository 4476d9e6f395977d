#!/bin/bash
#
# NAME
#	sanitizers.sh - subguard under ASan+UBSan, TSan and valgrind
# SYNOPSIS
#	bash tests/fault/sanitizers.sh [asan] [tsan] [valgrind]
# DESCRIPTION
#	Not a CTest test: scripts/test.sh (CI) runs "tsan valgrind" after
#	its own ASan+UBSan stage; "asan" here adds the hostile-input fault
#	tests under ASan, by hand. Builds, from this checkout, into
#	$SG_SAN_DIR (default /tmp/sg-san):
#	  asan/   cmake -DSG_SANITIZE=ON (AddressSanitizer, UBSan, LeakSanitizer)
#	  tsan/   cmake -DCMAKE_C_FLAGS=-fsanitize=thread
#	  plain/  the ordinary build, for valgrind
#	and runs (all three by default, or the ones named):
#	  asan      ctest -L 'unit|integration|miltertest' and the hostile-input
#	            fault tests (t_60_logins, t_61_rcpts, t_63_macros: root,
#	            Postfix) in asan/;
#	  tsan      ctest -L 'unit|integration|miltertest' (integration_redis
#	            has the 8-thread pool test) and the fault tests with load
#	            through subguard named by SG_SAN_TSAN_FAULT (an ERE,
#	            default t_(10_redis_kill|50_hup_broken|62_idle): the pool
#	            reconnecting after a Redis crash, 15 SIGHUP reloads
#	            swapping the runtime, 55 idle connections, all under load)
#	            in tsan/, with the suppressions in tests/tsan.supp
#	            (libmilter's own races at shutdown, each explained);
#	  valgrind  each tests/miltertest/t_*.lua with subguard under
#	            "valgrind --error-exitcode=1 --leak-check=full", and the
#	            integration test programs under valgrind, from plain/.
#	ASan and UBSan errors and leaks fail the test they happen in. A TSan
#	report need not (the e2e harness does not check the daemon's exit
#	status), so every report is also written to a file: sanitizer
#	reports go to $SG_SAN_DIR/logs/{asan,ubsan,tsan}.PID (log_path),
#	valgrind's to $SG_SAN_DIR/logs/vg.*, and any such file with a report
#	in it fails the run, whatever the tests said. The end of the run
#	lists every test that failed and every report file, with its first
#	error line.
#
#	SG_SAN_PLAIN=DIR uses the build in DIR for valgrind instead of
#	building plain/ (it must have the test programs).
# EXIT STATUS
#	0 when every test passed and no report was written, 1 otherwise.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
D=${SG_SAN_DIR:-/tmp/sg-san}
LOGS=$D/logs
JOBS=${SG_SAN_JOBS:-2}
what=("$@")
[[ ${#what[@]} -gt 0 ]] || what=(asan tsan valgrind)
mkdir -p "$D" "$LOGS"
rm -f "$LOGS"/*
failed=()
declare -A secs=()

say() { printf '[san %(%H:%M:%S)T] %s\n' -1 "$*"; }

# build DIR CMAKE-ARGS... - configure and build one tree
build() {
    local dir=$1
    shift
    say "building $dir: cmake $*"
    if ! cmake -S "$SRC" -B "$dir" "$@" >"$dir.cmake.log" 2>&1 ||
        ! cmake --build "$dir" -j "$JOBS" >"$dir.build.log" 2>&1; then
        say "build of $dir failed: see $dir.cmake.log and $dir.build.log"
        tail -n 20 "$dir.cmake.log" "$dir.build.log" 2>/dev/null
        failed+=("build:$(basename "$dir")")
        return 1
    fi
}

# run_ctest NAME DIR ARGS... - ctest in DIR; failures recorded under NAME
run_ctest() {
    local name=$1 dir=$2 t0=$SECONDS out
    shift 2
    say "$name: ctest $*"
    out=$(cd "$dir" && ctest --output-on-failure "$@" 2>&1)
    printf '%s\n' "$out" >"$LOGS/$name.ctest.log"
    printf '%s\n' "$out" | grep -E '^ *[0-9]+/[0-9]+ Test|tests passed' || true
    while read -r t; do
        failed+=("$name:$t")
    done < <(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (.*/\1/p')
    secs[$name]=$((SECONDS - t0))
}

for w in "${what[@]}"; do
    case $w in
    asan)
        t0=$SECONDS
        build "$D/asan" -DSG_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo || continue
        secs[asan-build]=$((SECONDS - t0))
        # Memory errors and leaks fail the test (subguard -k, -t and
        # subguard-replay free what they allocate).
        export ASAN_OPTIONS="log_path=$LOGS/asan:detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
        export UBSAN_OPTIONS="log_path=$LOGS/ubsan:print_stacktrace=1:halt_on_error=1"
        run_ctest asan-tests "$D/asan" -L 'unit|integration|miltertest' -LE fault
        run_ctest asan-fault "$D/asan" -R 'fault_t_6[013]_'
        unset ASAN_OPTIONS UBSAN_OPTIONS
        ;;
    tsan)
        t0=$SECONDS
        build "$D/tsan" -DCMAKE_C_FLAGS=-fsanitize=thread \
            -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DCMAKE_BUILD_TYPE=RelWithDebInfo || continue
        secs[tsan-build]=$((SECONDS - t0))
        export TSAN_OPTIONS="suppressions=$SRC/tests/tsan.supp:log_path=$LOGS/tsan:second_deadlock_stack=1:history_size=4"
        run_ctest tsan-tests "$D/tsan" -L 'unit|integration|miltertest' -LE fault
        run_ctest tsan-fault "$D/tsan" -R "fault_(${SG_SAN_TSAN_FAULT:-t_(10_redis_kill|50_hup_broken|62_idle)})"
        secs[tsan]=$((SECONDS - t0 - ${secs[tsan-build]}))
        unset TSAN_OPTIONS
        ;;
    valgrind)
        command -v valgrind >/dev/null || { say "no valgrind"; failed+=("valgrind:missing"); continue; }
        t0=$SECONDS
        plain=${SG_SAN_PLAIN:-$D/plain}
        if [[ -z ${SG_SAN_PLAIN:-} ]]; then
            build "$plain" -DCMAKE_BUILD_TYPE=RelWithDebInfo || continue
        fi
        secs[plain-build]=$((SECONDS - t0))
        t0=$SECONDS
        # A build directory whose "subguard" is the real one under valgrind:
        # tests/miltertest/run.sh starts "$SG_BUILD/subguard" and takes its
        # exit status (valgrind's --error-exitcode) when it stops it.
        vg=$D/vgbin
        mkdir -p "$vg"
        cat >"$vg/subguard" <<EOF
#!/bin/sh
exec valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \\
    --errors-for-leak-kinds=definite,indirect --track-fds=no --num-callers=30 \\
    --log-file=$LOGS/vg.subguard.%p "$plain/subguard" "\$@"
EOF
        chmod +x "$vg/subguard"
        for lua in "$SRC"/tests/miltertest/t_*.lua; do
            n=$(basename "$lua" .lua)
            say "valgrind: miltertest $n"
            if ! SG_BUILD=$vg SG_SRC=$SRC bash "$SRC/tests/miltertest/run.sh" "$lua" \
                >"$LOGS/vg-miltertest-$n.log" 2>&1; then
                failed+=("valgrind:miltertest_$n")
                tail -n 20 "$LOGS/vg-miltertest-$n.log"
            fi
        done
        for p in test_redis test_store; do
            say "valgrind: integration $p"
            if ! SG_BUILD=$plain SG_SRC=$SRC sh "$SRC/tests/integration/with-redis.sh" \
                valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
                --log-file="$LOGS/vg.$p.%p" "$plain/tests/$p" >"$LOGS/vg-$p.log" 2>&1; then
                failed+=("valgrind:$p")
                tail -n 20 "$LOGS/vg-$p.log"
            fi
        done
        secs[valgrind]=$((SECONDS - t0))
        ;;
    *)
        echo "usage: sanitizers.sh [asan] [tsan] [valgrind]" >&2
        exit 2
        ;;
    esac
done

# Reports: sanitizer log files, and valgrind logs with errors in them.
reports=()
for f in "$LOGS"/asan.* "$LOGS"/ubsan.* "$LOGS"/tsan.*; do
    [[ -s $f ]] && reports+=("$f")
done
for f in "$LOGS"/vg.*; do
    [[ -s $f ]] || continue
    grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]' "$f" && reports+=("$f")
done

echo
echo "=== sanitizers.sh summary ($D) ==="
for k in "${!secs[@]}"; do printf '  %-16s %5d s\n' "$k" "${secs[$k]}"; done | sort
echo "  total            $SECONDS s"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "failed:"
    printf '  %s\n' "${failed[@]}"
fi
if [[ ${#reports[@]} -gt 0 ]]; then
    echo "reports:"
    for f in "${reports[@]}"; do
        printf '  %s: %s\n' "$f" "$(grep -m1 -E 'WARNING: ThreadSanitizer|ERROR: |runtime error|Invalid (read|write|free)|uninitialised|are (definitely|indirectly) lost' "$f" | cut -c1-160)"
    done
fi
if [[ ${#failed[@]} -eq 0 && ${#reports[@]} -eq 0 ]]; then
    echo "clean: every test passed, no report"
    exit 0
fi
exit 1
