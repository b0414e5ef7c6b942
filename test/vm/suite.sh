#!/usr/bin/env bash
# The guest suite: nettrace's real-kernel tests inside qemu guests running
# Debian's own kernels, where the attach methods this machine lacks exist.
#
#   test/vm/suite.sh [--only harness|stock|nobtf|backports|bullseye|stock-life|backports-life|backports-netfilter|stock-package]
#
#   stock      Debian 12's kernel (6.1): every test of test/kernel/ but the
#              lifecycle, package and container ones (the image is built
#              and run on the host), with kprobe, kretprobe, fentry, fexit, tp_btf
#              and tracepoints required (NETTRACE_EXPECT_ATTACH: missing =
#              failed, not skipped)
#   nobtf      the same kernel with /sys/kernel/btf hidden for the whole guest:
#              the no-BTF tests, --btf given the kernel image's own .BTF
#   backports  bookworm-backports' kernel (6.12): kprobe-multi (CONFIG_FPROBE,
#              which 6.1 lacks) and sk_skb_reason_drop: attach and check tests
#   bullseye   Debian 11's kernel (5.10): no drop reasons, no attach cookies,
#              no fentry as nettrace uses it (bpf_get_func_arg): check (every
#              kind attached and shown a datagram), drop (both transports),
#              explain, floods, exits, a ping's life through a program per point
#   stock-life      6.1: test/kernel/life.test.ts through fentry/fexit
#   backports-life  6.12: lifecycle tests through kprobe-multi
#   backports-netfilter  6.12: the netfilter verdicts (nft, iptables-legacy,
#              bridge tables), as on 6.1 in stock
#   stock-package   6.1: the .deb installed in a minimal Debian root, the
#              .rpm's payload: each catches a real drop on Debian's kernel
#
# Every configuration runs, in order of what they prove (the attach kinds
# first), each headed by the exact kernel it boots. Under CI one that cannot
# start, or finds no time left before CI's hard end (NETTRACE_CI_DEADLINE),
# is a failure that says why.
#
# The harness's own tests (test/vm/harness.test.ts) run first, on the host.
# Prints one summary line per configuration and a closing "guest: ..." line.
# When no guest can run here (no qemu, ...) it says why and exits 0, unless
# NETTRACE_REQUIRE_GUEST=1 (CI), where that is a failure.
set -uo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
cd "$ROOT"
GUEST=test/vm/guest.sh
ONLY=
while [ $# -gt 0 ]; do
  case $1 in
    --only) ONLY=$2; shift 2 ;;
    *) echo "suite.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

DENO=$(scripts/setup.sh --test --guest --quiet) || exit 1
scripts/build-bpf.sh --if-stale --quiet || exit 1

if ! why=$($GUEST check); then
  echo "guest: skipped: no guest can run here: $why"
  [ "${NETTRACE_REQUIRE_GUEST:-0}" = 1 ] && { echo "guest: NETTRACE_REQUIRE_GUEST=1, so this is a failure" >&2; exit 1; }
  exit 0
fi

# The host suite has type-checked this code already; under TCG checking again costs minutes.
DENO_TEST=("$DENO" test --allow-all --no-check --config deno.json)
COMMON_ATTACH=tracepoint,raw_tracepoint,kprobe,kretprobe
SUMMARIES=() TOTAL_PASSED=0 TOTAL_FAILED=0 TOTAL_SKIPPED=0 RC=0
SCALE=${NETTRACE_TEST_TIME_SCALE:-1}

# Under CI every configuration runs: one that cannot start, or finds no time
# left before CI's hard end (NETTRACE_CI_DEADLINE), fails and says why.
# limit NAME: sets TIME_LIMIT, the guest's time limit in seconds; fails when no time is left
limit() {
  TIME_LIMIT=$((1200 * SCALE))
  [ -n "${NETTRACE_CI_DEADLINE:-}" ] || return 0
  local left=$((NETTRACE_CI_DEADLINE - $(date +%s)))
  if [ "$left" -lt 60 ]; then
    echo "=== guest $1: FAILED: only $left s are left before CI's end; the configurations before it took too long"
    SUMMARIES+=("guest $1: failed: no time left before CI's end ($left s)")
    TOTAL_FAILED=$((TOTAL_FAILED + 1)) RC=1
    return 1
  fi
  [ "$TIME_LIMIT" -le "$left" ] || TIME_LIMIT=$left
}

# the harness itself, on the host: output, exit status, timeout and Ctrl-C leave nothing
if { [ -z "$ONLY" ] || [ "$ONLY" = harness ]; } && limit harness; then
  echo "=== guest harness (on the host): test/vm/harness.test.ts"
  hlog=$(mktemp)
  NO_COLOR=1 NETTRACE_TEST_TIME_SCALE=$SCALE "$DENO" test --allow-all --config deno.json test/vm/harness.test.ts 2>&1 | tee "$hlog"
  [ "${PIPESTATUS[0]}" = 0 ] || RC=1
  hsummary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$hlog" | tail -n 1)
  rm -f "$hlog"
  h_passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$hsummary")
  h_failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$hsummary")
  [ -n "$hsummary" ] || h_failed=1
  SUMMARIES+=("guest harness: ${h_passed:-0} passed, ${h_failed:-0} failed")
  TOTAL_PASSED=${h_passed:-0} TOTAL_FAILED=${h_failed:-0}
fi

# run_config NAME GUEST-OPTIONS... -- TEST-FILES...
run_config() {
  local name=$1; shift
  local opts=() files=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift; files=("$@")
  [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && return 0
  limit "$name" || return 0
  # the exact kernel this configuration boots: Debian moves its kernel packages under us
  local kernel=stock i kinfo kver kpkg
  for ((i = 0; i < ${#opts[@]}; i++)); do [ "${opts[$i]}" = --kernel ] && kernel=${opts[$((i + 1))]}; done
  if ! kinfo=$($GUEST prepare --kernel "$kernel"); then
    echo "=== guest $name: FAILED: the $kernel kernel could not be prepared"
    SUMMARIES+=("guest $name: failed: the $kernel kernel could not be prepared")
    TOTAL_FAILED=$((TOTAL_FAILED + 1)) RC=1
    return 0
  fi
  kver=$(sed -n 's/^kernel \([^:]*\):.*/\1/p' <<<"$kinfo")
  kpkg=$(sed -n 's/^package: //p' <<<"$kinfo")
  echo "=== guest $name: kernel $kver ($kpkg): ${files[*]}"
  local started=$SECONDS
  local log rc summary passed failed ignored
  log=$(mktemp)
  $GUEST run -t "$TIME_LIMIT" -e NO_COLOR=1 -e DENO_NO_UPDATE_CHECK=1 -e NETTRACE_TEST_TIME_SCALE="$SCALE" "${opts[@]}" -- "${DENO_TEST[@]}" "${files[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1)
  rm -f "$log"
  passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
  failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
  ignored=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$summary")
  if [ -z "$summary" ]; then
    failed=1
    SUMMARIES+=("guest $name ($kver): no test result: the guest did not run the tests (exit $rc)")
  elif [ "${passed:-0}" = 0 ]; then
    # a filter that matches nothing (deno's --filter takes no lookahead, and says nothing) passes vacuously
    failed=1 rc=1
    SUMMARIES+=("guest $name ($kver): FAILED: no test ran (a --filter that matches no test name?)")
  else
    SUMMARIES+=("guest $name ($kver, $((SECONDS - started)) s): ${passed:-0} passed, ${failed:-0} failed${ignored:+, $ignored skipped}")
  fi
  TOTAL_PASSED=$((TOTAL_PASSED + ${passed:-0})) TOTAL_FAILED=$((TOTAL_FAILED + ${failed:-0}))
  TOTAL_SKIPPED=$((TOTAL_SKIPPED + ${ignored:-0}))
  [ "$rc" = 0 ] || RC=1
}

STOCK_ATTACH=$COMMON_ATTACH,tp_btf,fentry,fexit
mapfile -t STOCK_FILES < <(ls test/kernel/*.test.ts | grep -vE '/(life|package|container)\.test\.ts$')
run_config stock -e NETTRACE_EXPECT_ATTACH=$STOCK_ATTACH -- "${STOCK_FILES[@]}"

# the kernel image (an ELF with a .BTF section) is the BTF file the user would give
image=$($GUEST prepare --kernel stock | sed -n 's/^kernel [^:]*: //p')
run_config nobtf \
  --hide-btf -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH -e NETTRACE_TEST_BTF_FILE="$image" -- \
  test/kernel/no_btf.test.ts test/kernel/check.test.ts

run_config backports --kernel backports \
  -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH,tp_btf,fentry,fexit,kprobe-multi -- \
  test/kernel/attach.test.ts test/kernel/check.test.ts test/kernel/explain.test.ts

# Debian 11's 5.10: drops without reasons (their location instead), the perf buffer beside the ring buffer,
# lifecycle tracing through a program per point (no bpf_get_attach_cookie before 5.15)
# (the bad-input tests depend on no kernel: they run in stock; deno's --filter is a Rust regex: no lookahead)
run_config bullseye --kernel bullseye -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH,tp_btf -- \
  --filter "/^(check|explain):|^drop: (TCP SYN|through a perf|an nft|an iptables|UDP to)|SIGKILL|SIGTERM|flood|rate-limit|^life: (a ping between|through a perf buffer)/" \
  test/kernel/check.test.ts test/kernel/drop.test.ts test/kernel/explain.test.ts test/kernel/lifecycle.test.ts \
  test/kernel/life.test.ts

# lifecycle through fentry/fexit (6.1 has no kprobe-multi)
run_config stock-life -e NETTRACE_EXPECT_ATTACH=$STOCK_ATTACH -- test/kernel/life.test.ts

# lifecycle through kprobe-multi: the path, clones, --ret
run_config backports-life --kernel backports \
  -e NETTRACE_EXPECT_ATTACH=kprobe-multi -- \
  --filter "/ping between|--ret|--detail/" test/kernel/life.test.ts

# netfilter verdicts on 6.12 too, not only on 6.1.0-57 (whose nft_do_chain frees a dropped skb itself and returns
# NF_STOLEN with an errno): the hook, nft table and chain, iptables-legacy table and bridge table say verdict: drop
run_config backports-netfilter --kernel backports \
  -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH,tp_btf,fentry,fexit,kprobe-multi -- \
  --filter "/netfilter details|nft bridge table/" test/kernel/diag.test.ts test/kernel/diag_bridge.test.ts

# the packages as users install them, on Debian's own kernel (they are made from this tree first)
if [ -z "$ONLY" ] || [ "$ONLY" = stock-package ]; then
  scripts/package.sh 2>&1 | tail -n 3
  "$DENO" run --quiet --allow-all --config deno.json test/helpers/debian_root.ts
fi
run_config stock-package -e NETTRACE_EXPECT_ATTACH=$STOCK_ATTACH -- test/kernel/package.test.ts

echo
printf '%s\n' "${SUMMARIES[@]}"
skipped=; [ "$TOTAL_SKIPPED" -gt 0 ] && skipped=", $TOTAL_SKIPPED skipped"
echo "guest: $TOTAL_PASSED passed, $TOTAL_FAILED failed$skipped"
[ "$TOTAL_FAILED" = 0 ] || RC=1
exit $RC
