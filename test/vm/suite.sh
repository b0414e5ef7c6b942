#!/usr/bin/env bash
# The guest suite: nettrace's real-kernel tests inside qemu guests running
# Debian's own kernels, where the attach methods this machine lacks exist.
#
#   test/vm/suite.sh [--only harness|stock|stock-diag|nobtf|backports|bullseye|bullseye-compat|stock-life|backports-life|backports-netfilter|stock-package|stock-systemd]
#
#   stock      Debian 12's kernel (6.1): attach, check, drop, explain and the
#              lifecycle tests (exits, floods, bad input), with kprobe,
#              kretprobe, fentry, fexit, tp_btf and tracepoints required
#              (NETTRACE_EXPECT_ATTACH: missing = failed, not skipped)
#   stock-diag 6.1: the diagnosis tests (faults, netfilter details, bridge,
#              TCP sockets), --sock (functions, no sock_send_length), no-BTF
#              with BTF visible, the launcher
#   nobtf      the same kernel with /sys/kernel/btf hidden for the whole guest:
#              the no-BTF tests, --btf given the kernel image's own .BTF
#   backports  bookworm-backports' kernel (6.12): kprobe-multi (CONFIG_FPROBE,
#              which 6.1 lacks) and sk_skb_reason_drop: attach and check tests,
#              --sock (functions and the 6.5+ send and receive tracepoints)
#   bullseye   Debian 11's kernel (5.10): no drop reasons, no attach cookies,
#              no fentry as nettrace uses it (bpf_get_func_arg): check (every
#              kind attached and shown a datagram), drop (both transports),
#              explain, floods, exits, --diag by where skbs were freed
#   bullseye-life  5.10: every "life: " test through a program per point (a
#              ping, --detail, --basic, -c, DNAT, --ret, -t ?, --tcp-flags,
#              --pkt-len, --min-latency, --trace-stack)
#   bullseye-compat  5.10 with /sys/kernel/btf hidden and no --btf: the compat
#              objects, built on the host from Debian 11's linux-headers
#              packages (scripts/build-bpf.sh --compat), catch a SYN through
#              the perf buffer and the ring buffer, follow a ping through
#              tracepoints and kprobes; --check names them. The stand-in for
#              the 4.14-5.7 kernels without BTF that cannot be fetched here
#   stock-life      6.1: test/kernel/life.test.ts through fentry/fexit
#   backports-life  6.12: lifecycle tests through kprobe-multi
#   backports-netfilter  6.12: the netfilter verdicts (nft, iptables-legacy,
#              bridge tables), as on 6.1 in stock-diag
#   stock-package   6.1: the .deb installed in a minimal Debian root, the
#              .rpm's payload: each catches a real drop on Debian's kernel;
#              -w read back; --rtt's histograms and thresholds
#   stock-systemd   6.1 booted with systemd as PID 1 (guest.sh --systemd): the
#              .deb installed with dpkg, nettrace-monitor.service started
#              with systemctl, its sandbox read from /proc, its drops in the
#              journal and in a real Prometheus, restarted on upgrade,
#              stopped on removal
#   (the container image is built and run on the host, not here)
#
# Every configuration runs; they run side by side (NETTRACE_VM_JOBS at a
# time), the longest first, and each one's output is printed whole when it
# ends, headed by the exact kernel it booted. Under CI one that cannot start,
# or finds no time left before CI's hard end (NETTRACE_CI_DEADLINE), is a
# failure that says why.
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

# Configurations run side by side, JOBS at a time (NETTRACE_VM_JOBS, default: the host's cores, at most 4),
# each guest with the host's cores shared out (one vCPU each on 2 cores). Under TCG one guest cannot keep two
# vCPUs busy: side by side, two 1-vCPU guests ran drop.test.ts in 216 s, where one 2-vCPU guest took 178 s for one.
CORES=$(nproc)
JOBS=${NETTRACE_VM_JOBS:-$CORES}
[ "$JOBS" -le 4 ] || JOBS=4
[ "$JOBS" -ge 1 ] || JOBS=1
VCPUS=$((CORES / JOBS))
[ "$VCPUS" -ge 1 ] || VCPUS=1
RESULTS=$(mktemp -d)
PIDS=()
# on the way out (also Ctrl-C or SIGTERM: background jobs ignore SIGINT), each job is told to stop; it tells its
# guest.sh, which stops its qemu
stop_jobs() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait
  rm -rf "$RESULTS"
}
trap stop_jobs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

if [ "$ONLY" = harness ]; then
  echo "guest: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
  [ "$TOTAL_FAILED" = 0 ] || RC=1
  exit $RC
fi

# the kernels, fetched and each named once, before any guest boots (Debian moves its kernel packages under us)
declare -A KVER KPKG KIMAGE KPROBLEM
for kernel in stock backports bullseye; do
  if kinfo=$($GUEST prepare --kernel "$kernel"); then
    KVER[$kernel]=$(sed -n 's/^kernel \([^:]*\):.*/\1/p' <<<"$kinfo")
    KPKG[$kernel]=$(sed -n 's/^package: //p' <<<"$kinfo")
    KIMAGE[$kernel]=$(sed -n 's/^kernel [^:]*: //p' <<<"$kinfo")
    echo "guest kernel $kernel: ${KVER[$kernel]} (${KPKG[$kernel]})"
  else
    KPROBLEM[$kernel]=1
  fi
done
# the package lists were refreshed just now: the runs below need not fetch them again
export NETTRACE_VM_REFRESH=0

# the compat objects (bullseye-compat): built for the 5.10 kernel from its headers, as a user would
if [ -z "$ONLY" ] || [ "$ONLY" = bullseye-compat ]; then
  if [ -z "${KPROBLEM[bullseye]:-}" ] && headers=$($GUEST headers --kernel bullseye) &&
    scripts/build-bpf.sh --quiet --compat "$headers"; then
    echo "compat objects for ${KVER[bullseye]}: built from $headers"
  else
    COMPAT_PROBLEM=1
  fi
fi

# the packages as users install them (stock-package): made from this tree before the guests start
if [ -z "$ONLY" ] || [ "$ONLY" = stock-package ] || [ "$ONLY" = stock-systemd ]; then
  scripts/package.sh 2>&1 | tail -n 3
  "$DENO" run --quiet --allow-all --config deno.json test/helpers/debian_root.ts
fi

# config NAME GUEST-OPTIONS... -- TEST-FILES...: defines a configuration
declare -A CONFIG
ORDER=()
config() {
  local name=$1; shift
  CONFIG[$name]=$(printf '%q ' "$@")
  ORDER+=("$name")
}

# run_config NAME: runs one configuration in its guest; its output goes to $RESULTS/NAME.log, its
# counts to $RESULTS/NAME.result ("passed failed skipped rc summary...")
run_config() {
  local name=$1 opts=() files=() args
  eval "args=(${CONFIG[$name]})"
  while [ "${args[0]}" != -- ]; do opts+=("${args[0]}"); args=("${args[@]:1}"); done
  files=("${args[@]:1}")
  local kernel=stock i
  for ((i = 0; i < ${#opts[@]}; i++)); do [ "${opts[$i]}" = --kernel ] && kernel=${opts[$((i + 1))]}; done
  local log=$RESULTS/$name.log result=$RESULTS/$name.result
  if [ "$name" = bullseye-compat ] && [ -n "${COMPAT_PROBLEM:-}" ]; then
    echo "=== guest $name: FAILED: the compat objects could not be built" > "$log"
    echo "0 1 0 1 guest $name: failed: the compat objects could not be built" > "$result"
    return
  fi
  if [ -n "${KPROBLEM[$kernel]:-}" ]; then
    echo "=== guest $name: FAILED: the $kernel kernel could not be prepared" > "$log"
    echo "0 1 0 1 guest $name: failed: the $kernel kernel could not be prepared" > "$result"
    return
  fi
  limit "$name" > "$log" || { echo "0 1 0 1 guest $name: failed: no time left before CI's end" > "$result"; return; }
  local kver=${KVER[$kernel]}
  echo "=== guest $name: kernel $kver (${KPKG[$kernel]}), $VCPUS vCPU: ${files[*]}" >> "$log"
  local started=$SECONDS rc summary passed failed ignored line
  # a signal to this job (or to the whole suite, see stop_jobs) reaches guest.sh, which stops its qemu
  $GUEST run -c "$VCPUS" -t "$TIME_LIMIT" -e NO_COLOR=1 -e DENO_NO_UPDATE_CHECK=1 -e NETTRACE_TEST_TIME_SCALE="$SCALE" \
    "${opts[@]}" -- "${DENO_TEST[@]}" "${files[@]}" >> "$log" 2>&1 &
  local guest=$!
  trap 'kill -TERM $guest 2>/dev/null; wait $guest; exit 143' TERM HUP INT
  wait $guest
  rc=$?
  trap - TERM HUP INT
  summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1)
  passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
  failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
  ignored=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$summary")
  if [ -z "$summary" ]; then
    failed=1
    line="guest $name ($kver): no test result: the guest did not run the tests (exit $rc)"
  elif [ "${passed:-0}" = 0 ] && [ "${failed:-0}" = 0 ]; then
    # a filter that matches nothing (deno's --filter takes no lookahead, and says nothing) passes vacuously
    failed=1 rc=1
    line="guest $name ($kver): FAILED: no test ran (a --filter that matches no test name?)"
  else
    line="guest $name ($kver, $((SECONDS - started)) s): ${passed:-0} passed, ${failed:-0} failed${ignored:+, $ignored skipped}"
  fi
  echo "${passed:-0} ${failed:-0} ${ignored:-0} $rc $line" > "$result"
}

STOCK_ATTACH=$COMMON_ATTACH,tp_btf,fentry,fexit
# (what depends on no kernel runs on this host only: bad input, -h, file modes, -o, -c, --json, the escaping of
# names, the launcher, the ICMP text; the perf buffer and the signals are bullseye's, the ring flood stock's, the
# storms backports' and bullseye-compat's); and --monitor --metrics as the packages' unit and the DaemonSet run it,
# with their capabilities only (Debian's kernels refuse perf events without CAP_SYS_ADMIN: kernel.perf_event_paranoid
# is 3), scraped by a real Prometheus
config stock -e NETTRACE_EXPECT_ATTACH=$STOCK_ATTACH -- \
  --filter "/^(attach|check|explain):|^drop: (TCP SYN|IPv6|an nft|an iptables|UDP to|with two flows|--netns|--detail|--drop-stack)|^lifecycle: (a flood through a 4 KiB ring|--rate-limit)|^expression: (--drop|at a point|lifecycle|--diag)|^daemonset: the container|^service: the unit's command|^metrics: a real Prometheus/" \
  test/kernel/attach.test.ts test/kernel/check.test.ts test/kernel/drop.test.ts test/kernel/explain.test.ts \
  test/kernel/lifecycle.test.ts test/kernel/filter_expression.test.ts test/kernel/daemonset.test.ts \
  test/kernel/service.test.ts test/kernel/monitor.test.ts

# the same kernel, the diagnosis tests (and the no-BTF and launcher ones, for balance); of --sock's, those whose
# points differ between kernels (functions here; --json and bad input are the same everywhere: this host runs them)
config stock-diag -e NETTRACE_EXPECT_ATTACH=$STOCK_ATTACH -- \
  --filter "/^diag: (each fault|netfilter details|--rules adds|a closed TCP port|TCP socket faults|IPv6)|^(no BTF|launcher)|^sock: (a connection|data dropped)/" \
  test/kernel/diag.test.ts test/kernel/diag_bridge.test.ts test/kernel/diag_socket.test.ts test/kernel/no_btf.test.ts \
  test/kernel/launcher.test.ts test/kernel/sock.test.ts

# the kernel image (an ELF with a .BTF section) is the BTF file the user would give
image=${KIMAGE[stock]:-}
config nobtf \
  --hide-btf -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH -e NETTRACE_TEST_BTF_FILE="$image" -- \
  test/kernel/no_btf.test.ts test/kernel/check.test.ts

config backports --kernel backports \
  -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH,tp_btf,fentry,fexit,kprobe-multi -- \
  --filter "/^(attach|check|explain|storm):|^sock: (a connection|data dropped|UDP)|^expression: (--drop|lifecycle)/" \
  test/kernel/attach.test.ts test/kernel/check.test.ts test/kernel/explain.test.ts test/kernel/storm.test.ts \
  test/kernel/sock.test.ts test/kernel/filter_expression.test.ts

# Debian 11's 5.10: drops without reasons (their location instead), the perf buffer beside the ring buffer,
# lifecycle tracing through a program per point (no bpf_get_attach_cookie before 5.15)
# (what depends on no kernel runs on this host only; deno's --filter is a Rust regex: no lookahead)
config bullseye --kernel bullseye -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH,tp_btf -- \
  --filter "/^(attach|check|explain):|^drop: (TCP SYN|through a perf|an nft|an iptables|UDP to)|SIGKILL|SIGTERM|a flood through a 4 KiB perf|rate-limit|^diag: a closed TCP port|^expression: --drop/" \
  test/kernel/attach.test.ts test/kernel/check.test.ts test/kernel/drop.test.ts test/kernel/explain.test.ts \
  test/kernel/lifecycle.test.ts test/kernel/diag.test.ts test/kernel/filter_expression.test.ts

# 5.10's lifecycle tests, a program per point (they took bullseye to its 20-minute limit: a lane of their own)
config bullseye-life --kernel bullseye -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH,tp_btf -- \
  --filter "/^life: /" test/kernel/life.test.ts

# 5.10 without BTF and without --btf: the compat objects (the check tests too: what is missing, what to do)
config bullseye-compat --kernel bullseye --hide-btf -e NETTRACE_EXPECT_COMPAT=1 \
  -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH -- \
  --filter "/^(compat|check|attach):|^storm: a flood|^capture: (-w writes|a packet dropped on output|lifecycle)/" \
  test/kernel/compat.test.ts test/kernel/check.test.ts test/kernel/attach.test.ts test/kernel/storm.test.ts \
  test/kernel/capture.test.ts

# lifecycle through fentry/fexit (6.1 has no kprobe-multi); of the C options' tests, the one clones matter to (the
# other "life -..." tests are about tracepoints: this host runs them); --monitor where functions can be traced (the
# retransmission timer, tcp_rate_gen's RTT samples under netem) and that 6.1 shows nothing of normal traffic
config stock-life -e NETTRACE_EXPECT_ATTACH=$STOCK_ATTACH -- \
  --filter "/^life: (a ping between|through a perf|--detail|a packet stays|--tcp-flags|--pkt-len|--min-latency|--trace-stack|--ret)|--trace-noclone|bonding|--func-stats|netem|^monitor: (a refused|data dropped)/" \
  test/kernel/life.test.ts test/kernel/monitor.test.ts

# lifecycle through kprobe-multi: the path, clones, --ret
config backports-life --kernel backports \
  -e NETTRACE_EXPECT_ATTACH=kprobe-multi -- \
  --filter "/ping between|--ret|--detail|--trace-noclone/" test/kernel/life.test.ts

# netfilter verdicts on 6.12 too, not only on 6.1.0-57 (whose nft_do_chain frees a dropped skb itself and returns
# NF_STOLEN with an errno): the hook, nft table and chain, iptables-legacy table and bridge table say verdict: drop;
# and --monitor's nft drop named by table, chain and hook (on 6.1 too: stock-life), nf_hook_slow freeing it here
config backports-netfilter --kernel backports \
  -e NETTRACE_EXPECT_ATTACH=$COMMON_ATTACH,tp_btf,fentry,fexit,kprobe-multi -- \
  --filter "/netfilter details|nft bridge table|^monitor: a refused/" test/kernel/diag.test.ts \
  test/kernel/diag_bridge.test.ts test/kernel/monitor.test.ts

# the packages as users install them, on Debian's own kernel
# and -w's pcapng read back with tshark (of the host root the guest runs on); and on 6.1 what is counted in the
# kernel: the RTT histograms and thresholds, the latency histograms (the other --rtt tests are about the output: this
# host runs them)
config stock-package -e NETTRACE_EXPECT_ATTACH=$STOCK_ATTACH -- \
  --filter "/^(package|capture): |^rtt: (each connection|--filter-srtt)|^sock: --tcp-rtt|^life --latency:/" \
  test/kernel/package.test.ts test/kernel/capture.test.ts test/kernel/rtt.test.ts test/kernel/life.test.ts

# the packages' unit under a real systemd (PID 1 of this guest), started and stopped as an operator would
config stock-systemd --systemd -e NETTRACE_EXPECT_SYSTEMD=1 -- \
  --filter "/^service: under systemd/" test/kernel/service.test.ts

# the longest first, so that the jobs end close together (measured under CI at 13b470d, 1 vCPU, two side by side:
# stock-package 661 s, stock-life 575, stock-diag 565, stock 504, bullseye-life 460, backports 447, bullseye 395,
# bullseye-compat 316, backports-life 182, backports-netfilter 157, nobtf 83; the 5.10 lanes took 500-870 s before
# the project's share was cached in the guest)
QUEUE=(stock-package stock-life stock-diag stock bullseye-life backports bullseye bullseye-compat backports-life backports-netfilter stock-systemd nobtf)
[ -z "$ONLY" ] || [ -n "${CONFIG[$ONLY]:-}" ] || { echo "suite.sh: no configuration '$ONLY'" >&2; exit 2; }
[ ${#QUEUE[@]} = ${#ORDER[@]} ] || { echo "suite.sh: the queue and the configurations differ" >&2; exit 2; }
echo "guest: ${#QUEUE[@]} configurations, $JOBS at a time, $VCPUS vCPU each; each one's output follows when it ends"
for name in "${QUEUE[@]}"; do
  [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && continue
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  echo "guest $name: started"
  (
    trap - EXIT
    run_config "$name"
    cat "$RESULTS/$name.log"
  ) &
  PIDS+=($!)
done
wait
for name in "${ORDER[@]}"; do
  [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && continue
  if ! read -r passed failed ignored rc line < "$RESULTS/$name.result" 2>/dev/null; then
    passed=0 failed=1 ignored=0 rc=1 line="guest $name: no result (the job was stopped)"
  fi
  SUMMARIES+=("$line")
  TOTAL_PASSED=$((TOTAL_PASSED + passed)) TOTAL_FAILED=$((TOTAL_FAILED + failed))
  TOTAL_SKIPPED=$((TOTAL_SKIPPED + ignored))
  [ "$rc" = 0 ] || RC=1
done

echo
printf '%s\n' "${SUMMARIES[@]}"
skipped=; [ "$TOTAL_SKIPPED" -gt 0 ] && skipped=", $TOTAL_SKIPPED skipped"
echo "guest: $TOTAL_PASSED passed, $TOTAL_FAILED failed$skipped"
[ "$TOTAL_FAILED" = 0 ] || RC=1
exit $RC
