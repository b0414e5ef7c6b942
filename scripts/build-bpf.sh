#!/usr/bin/env bash
# Builds nettrace's CO-RE BPF objects into bpf/.output/.
#
#   scripts/build-bpf.sh [--btf FILE] [--if-stale] [--quiet]
#
# vmlinux.h comes from the build host's BTF (/sys/kernel/btf/vmlinux) or from
# the BTF file given with --btf. The objects are CO-RE: they run on other
# kernels too. main.ts embeds them as bytes (import ... with { type: "bytes" }),
# so neither `deno run` nor a compiled binary reads a .o at run time.
# --if-stale rebuilds only when the sources (or this script) changed.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
SRC=$ROOT/bpf
OUT=$SRC/.output
BTF=/sys/kernel/btf/vmlinux
IF_STALE=0 QUIET=0

while [ $# -gt 0 ]; do
  case $1 in
    --btf) BTF=$2; shift 2 ;;
    --if-stale) IF_STALE=1; shift ;;
    --quiet) QUIET=1; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-bpf.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

say() { [ "$QUIET" = 1 ] || echo "build-bpf: $*" >&2; }

sources() { ls "$SRC"/*.bpf.c "$SRC"/include/*.h "$ROOT/scripts/build-bpf.sh" | LC_ALL=C sort; }
stamp() { { sources | xargs cat; echo "btf=$BTF"; } | sha256sum | cut -c1-32; }

want=$(stamp)
if [ "$IF_STALE" = 1 ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$want" ]; then
  exit 0
fi

for tool in clang llvm-strip bpftool; do
  command -v "$tool" >/dev/null || { echo "build-bpf: '$tool' is missing (run scripts/setup.sh, or apt-get install clang llvm bpftool)" >&2; exit 1; }
done
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "build-bpf: libbpf headers are missing (apt-get install libbpf-dev)" >&2; exit 1; }
[ -r "$BTF" ] || { echo "build-bpf: no BTF at $BTF: give a BTF file with --btf (e.g. from a kernel with CONFIG_DEBUG_INFO_BTF=y)" >&2; exit 1; }

mkdir -p "$OUT"
say "vmlinux.h from $BTF"
bpftool btf dump file "$BTF" format c > "$OUT/vmlinux.h.tmp"
mv "$OUT/vmlinux.h.tmp" "$OUT/vmlinux.h"

arch=$(uname -m)
case $arch in
  x86_64) target_arch=x86 ;;
  aarch64) target_arch=arm64 ;;
  *) target_arch=$arch ;;
esac

for c in "$SRC"/*.bpf.c; do
  o=$OUT/$(basename "${c%.c}").o
  say "clang $(basename "$c")"
  clang -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_$target_arch \
    -I"$OUT" -I"$SRC/include" -c "$c" -o "$o.tmp"
  # DWARF is not needed at run time; .BTF and .BTF.ext (CO-RE relocations) stay.
  llvm-strip -g "$o.tmp"
  mv "$o.tmp" "$o"
done
echo "$want" > "$OUT/stamp"
say "objects in ${OUT#$ROOT/}"
