#!/usr/bin/env bash
# Runs nettrace's whole test suite on this machine: installs what is missing
# (scripts/setup.sh --test), builds the BPF objects, then `deno test` over
# test/unit (pure: parsing, decoding, formatting, layout) and test/kernel
# (the real kernel: namespaces, veth, nft/iptables, real drops). The
# real-kernel tests need root; without it they are skipped with the reason.
#
#   scripts/test.sh [deno test arguments, e.g. --filter drop]
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
DENO=$(scripts/setup.sh --test)
scripts/build-bpf.sh --if-stale
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
"$DENO" test --allow-all --config deno.json "$@" test/ 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# deno's summary: "ok | 60 passed | 0 failed (12s)" -> the plain closing line
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1 || true)
passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
ignored=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$summary")
echo
echo "host: ${passed:-0} passed, ${failed:-0} failed${ignored:+, $ignored skipped}"
exit "$rc"
