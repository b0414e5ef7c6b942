#!/usr/bin/env bash
# Runs nettrace's test suites: installs what is missing (scripts/setup.sh),
# builds the BPF objects, then
#   host   `deno test` over test/unit (pure: parsing, decoding, formatting,
#          layout) and test/kernel (this machine's kernel: namespaces, veth,
#          nft/iptables, real drops, every attach method it has)
#   guest  test/vm/suite.sh: test/kernel again inside qemu guests on Debian's
#          kernels (6.1: kprobes, fentry; 6.12: kprobe-multi; 6.1 without BTF;
#          5.10: no drop reasons, no attach cookies)
# The real-kernel tests need root; without it they are skipped with the reason.
#
#   scripts/test.sh [--host | --guest] [deno test arguments for the host suite, e.g. --filter drop]
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
HOST=1 GUEST=1
case ${1:-} in
  --host) GUEST=0; shift ;;
  --guest) HOST=0; shift ;;
esac
phase_start=$(date +%s)
# phase NAME: prints how long the phase that ends here took
phase() {
  local now; now=$(date +%s)
  echo "test.sh: $1 took $((now - phase_start)) s"
  phase_start=$now
}
if [ $GUEST = 1 ]; then DENO=$(scripts/setup.sh --test --guest); else DENO=$(scripts/setup.sh --test); fi
phase "setup"
scripts/build-bpf.sh --if-stale
phase "BPF build"
# the packages the package tests install (test/kernel/package.test.ts)
scripts/package.sh
phase "packages"
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1

# The tests' time limits suit the development machine, where a warm
# `nettrace explain --list` (Deno start-up, BTF, the rules file) takes about
# 0.25 s. On a slower machine every limit is stretched by the measured factor
# (test/helpers/time_scale.ts), unless NETTRACE_TEST_TIME_SCALE is set.
if [ -z "${NETTRACE_TEST_TIME_SCALE:-}" ]; then
  startup=(timeout 300 "$DENO" run --quiet --config deno.json --allow-all main.ts explain --list)
  "${startup[@]}" >/dev/null 2>&1 || true
  t0=$(date +%s%N)
  "${startup[@]}" >/dev/null 2>&1 || true
  ms=$((($(date +%s%N) - t0) / 1000000))
  scale=$(((ms + 249) / 250))
  [ $scale -ge 1 ] || scale=1
  [ $scale -le 40 ] || scale=40
  export NETTRACE_TEST_TIME_SCALE=$scale
  echo "test.sh: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); nettrace start-up ${ms} ms (about 250 on the development machine): time limits x$scale"
fi

host_rc=0 guest_rc=0 host_line= guest_line=
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ $HOST = 1 ]; then
  set +e
  "$DENO" test --allow-all --config deno.json "$@" test/unit/ test/kernel/ 2>&1 | tee "$log"
  host_rc=${PIPESTATUS[0]}
  set -e
  # deno's summary: "ok | 60 passed | 0 failed (12s)" -> the plain closing line
  summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1 || true)
  passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
  failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
  ignored=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$summary")
  host_line="host: ${passed:-0} passed, ${failed:-0} failed${ignored:+, $ignored skipped}"
  phase "host suite"
fi
if [ $GUEST = 1 ]; then
  set +e
  test/vm/suite.sh 2>&1 | tee "$log"
  guest_rc=${PIPESTATUS[0]}
  set -e
  guest_line=$(grep -E '^guest: ' "$log" | tail -n 1 || true)
  [ -n "$guest_line" ] || guest_line="guest: no result (exit $guest_rc)"
  phase "guest suite"
fi
echo
[ -z "$host_line" ] || echo "$host_line"
[ -z "$guest_line" ] || echo "$guest_line"
[ "$host_rc" = 0 ] && [ "$guest_rc" = 0 ]
