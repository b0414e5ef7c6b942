#!/usr/bin/env bash
# Builds nettrace's CO-RE BPF objects into bpf/.output/.
#
#   scripts/build-bpf.sh [--btf FILE | --host-btf] [--if-stale] [--quiet]
#
# The kernel types come from the committed bpf/vmlinux/ARCH/vmlinux.h, so the
# build needs no BTF on the build host and two builds of one commit match.
# --btf FILE generates vmlinux.h from that BTF instead (--host-btf: from
# /sys/kernel/btf/vmlinux); so does an architecture with no committed header.
# The objects are CO-RE: they run on other kernels too. main.ts embeds them as bytes (import ... with { type: "bytes" }),
# so neither `deno run` nor a compiled binary reads a .o at run time.
# --if-stale rebuilds only when the sources (or this script) changed.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
SRC=$ROOT/bpf
OUT=$SRC/.output
BTF=
IF_STALE=0 QUIET=0

while [ $# -gt 0 ]; do
  case $1 in
    --btf) BTF=$2; shift 2 ;;
    --btf=*) BTF=${1#--btf=}; shift ;;
    --host-btf) BTF=/sys/kernel/btf/vmlinux; shift ;;
    --if-stale) IF_STALE=1; shift ;;
    --quiet) QUIET=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-bpf.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

say() { [ "$QUIET" = 1 ] || echo "build-bpf: $*" >&2; }

arch=$(uname -m)
case $arch in
  x86_64) target_arch=x86 ;;
  aarch64) target_arch=arm64 ;;
  *) target_arch=$arch ;;
esac
COMMITTED=$SRC/vmlinux/$arch/vmlinux.h
if [ -z "$BTF" ] && [ ! -f "$COMMITTED" ]; then
  BTF=/sys/kernel/btf/vmlinux
  say "no committed vmlinux.h for $arch: using this host's BTF"
fi

sources() {
  { ls "$SRC"/*.bpf.c "$SRC"/include/*.h "$ROOT/scripts/build-bpf.sh"; [ -n "$BTF" ] || echo "$COMMITTED"; } | LC_ALL=C sort
}
stamp() { { sources | xargs cat; echo "btf=$BTF"; } | sha256sum | cut -c1-32; }

want=$(stamp)
if [ "$IF_STALE" = 1 ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$want" ]; then
  exit 0
fi

for tool in clang llvm-strip bpftool; do
  command -v "$tool" >/dev/null || { echo "build-bpf: '$tool' is missing (run scripts/setup.sh, or apt-get install clang llvm bpftool)" >&2; exit 1; }
done
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "build-bpf: libbpf headers are missing (apt-get install libbpf-dev)" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT/vmlinux.h"
if [ -n "$BTF" ]; then
  [ -r "$BTF" ] || { echo "build-bpf: no BTF at $BTF: give a BTF file with --btf (e.g. from a kernel with CONFIG_DEBUG_INFO_BTF=y)" >&2; exit 1; }
  say "vmlinux.h from $BTF"
  mkdir -p "$OUT/vmlinux"
  bpftool btf dump file "$BTF" format c > "$OUT/vmlinux/vmlinux.h.tmp"
  mv "$OUT/vmlinux/vmlinux.h.tmp" "$OUT/vmlinux/vmlinux.h"
  VMLINUX_DIR=$OUT/vmlinux
else
  say "vmlinux.h: ${COMMITTED#$ROOT/}"
  VMLINUX_DIR=$(dirname "$COMMITTED")
fi

# compile SOURCE OBJECT [CFLAGS...]
compile() {
  local c=$1 o=$2
  shift 2
  say "clang $(basename "$c") -> $(basename "$o")"
  clang -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_$target_arch "$@" \
    -I"$VMLINUX_DIR" -I"$SRC/include" -c "$c" -o "$o.tmp"
  # DWARF is not needed at run time; .BTF and .BTF.ext (CO-RE relocations) stay.
  llvm-strip -g "$o.tmp"
  mv "$o.tmp" "$o"
}
for c in "$SRC"/*.bpf.c; do
  name=$(basename "${c%.bpf.c}")
  compile "$c" "$OUT/$name.bpf.o"
  # programs that send events: a second object sending them through a perf buffer (kernels before 5.8)
  if grep -q '#include "event_output.h"' "$c"; then
    compile "$c" "$OUT/$name.perf.bpf.o" -DNT_PERF_EVENTS
  fi
done
echo "$want" > "$OUT/stamp"
say "objects in ${OUT#$ROOT/}"
