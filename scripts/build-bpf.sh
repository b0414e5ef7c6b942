#!/usr/bin/env bash
# Builds nettrace's CO-RE BPF objects into bpf/.output/.
#
#   scripts/build-bpf.sh [--btf FILE | --host-btf] [--if-stale] [--quiet]
#   scripts/build-bpf.sh --compat KERNEL_HEADERS_DIR [--out DIR] [--quiet]
#
# The kernel types come from the committed bpf/vmlinux/ARCH/vmlinux.h, so the
# build needs no BTF on the build host and two builds of one commit match.
# --btf FILE generates vmlinux.h from that BTF instead (--host-btf: from
# /sys/kernel/btf/vmlinux); so does an architecture with no committed header.
# The objects are CO-RE: they run on other kernels too. main.ts embeds them as bytes (import ... with { type: "bytes" }),
# so neither `deno run` nor a compiled binary reads a .o at run time.
# --if-stale rebuilds only when the sources (or this script) changed.
#
# --compat builds the event objects (drop, life; ring buffer and perf buffer)
# for one kernel without BTF, from its headers (Debian: linux-headers-RELEASE,
# e.g. /usr/src/linux-headers-$(uname -r); a kernel build tree works too):
# the kernel's types at fixed offsets, no CO-RE relocation. They go to
# bpf/.output/compat/RELEASE/ (or --out DIR), where nettrace run from this tree
# finds them; elsewhere put them in /usr/lib/nettrace/compat/RELEASE/ or name
# the directory in NETTRACE_COMPAT_DIR. nettrace loads them only on a kernel
# with that release and no BTF.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
SRC=$ROOT/bpf
OUT=$SRC/.output
BTF=
IF_STALE=0 QUIET=0
COMPAT= COMPAT_OUT=

while [ $# -gt 0 ]; do
  case $1 in
    --btf) BTF=$2; shift 2 ;;
    --btf=*) BTF=${1#--btf=}; shift ;;
    --host-btf) BTF=/sys/kernel/btf/vmlinux; shift ;;
    --compat) COMPAT=${2:?--compat needs the kernel headers directory}; shift 2 ;;
    --compat=*) COMPAT=${1#--compat=}; shift ;;
    --out) COMPAT_OUT=${2:?--out needs a directory}; shift 2 ;;
    --if-stale) IF_STALE=1; shift ;;
    --quiet) QUIET=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
[ -z "$COMPAT_OUT" ] || [ -n "$COMPAT" ] || { echo "build-bpf.sh: --out is for --compat" >&2; exit 2; }

# --compat: the kernel's headers instead of vmlinux.h. Its x86 inline assembly
# is not BPF's, so clang compiles for the host (IR only, nothing emitted from
# the headers' unused inline functions) and llc makes BPF of it, as the
# kernel's samples/bpf did before BTF.
build_compat() {
  local kdir src rel out inc resource
  kdir=$(cd "$COMPAT" 2>/dev/null && pwd) || { echo "build-bpf: --compat '$COMPAT': no such directory" >&2; exit 2; }
  # Debian splits a kernel's headers: linux-headers-RELEASE (generated, config) includes
  # linux-headers-VERSION-common (the sources) from its Makefile; a build tree has both
  src=$kdir
  if [ ! -d "$kdir/include/linux" ]; then
    src=$(sed -n 's|^include \(.*\)/Makefile$|\1|p' "$kdir/Makefile" 2>/dev/null | head -n 1)
    [ -z "$src" ] || [ -d "$src/include/linux" ] || src=$(dirname "$kdir")/$(basename "$src")
  fi
  [ -n "$src" ] && [ -d "$src/include/linux" ] && [ -f "$kdir/include/generated/utsrelease.h" ] || {
    echo "build-bpf: --compat '$COMPAT' is not a kernel's headers (want include/generated/utsrelease.h, and include/linux here or in the -common directory its Makefile names)" >&2
    exit 2
  }
  rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
  [ -n "$rel" ] || { echo "build-bpf: no UTS_RELEASE in $kdir/include/generated/utsrelease.h" >&2; exit 2; }
  for tool in clang opt llc llvm-strip; do
    command -v "$tool" >/dev/null || { echo "build-bpf: '$tool' is missing (apt-get install clang llvm)" >&2; exit 1; }
  done
  [ -f /usr/include/bpf/bpf_helpers.h ] || { echo "build-bpf: libbpf headers are missing (apt-get install libbpf-dev)" >&2; exit 1; }
  out=${COMPAT_OUT:-$OUT/compat/$rel}
  mkdir -p "$out" "$OUT/compat"
  # the libbpf headers alone: -nostdinc keeps the host's <linux/...> out
  inc=$OUT/compat/include
  mkdir -p "$inc"
  ln -sfn /usr/include/bpf "$inc/bpf"
  resource=$(clang -print-resource-dir)
  say "compat objects for $rel from $kdir (sources: $src)"
  local c name flags o
  for c in "$SRC/drop.bpf.c" "$SRC/life.bpf.c"; do
    name=$(basename "${c%.bpf.c}")
    for flags in "" -DNT_PERF_EVENTS; do
      o=$out/$name${flags:+.perf}.bpf.o
      say "clang+llc $(basename "$c") -> ${o#$ROOT/}"
      clang -O2 -g -nostdinc -isystem "$resource/include" \
        -D__KERNEL__ -D__BPF_TRACING__ -DKBUILD_MODNAME='"nettrace"' -DCC_USING_FENTRY \
        -D__TARGET_ARCH_$target_arch -DNT_COMPAT $flags \
        -I"$src/arch/$target_arch/include" -I"$kdir/arch/$target_arch/include/generated" \
        -I"$src/include" -I"$kdir/include" \
        -I"$src/arch/$target_arch/include/uapi" -I"$kdir/arch/$target_arch/include/generated/uapi" \
        -I"$src/include/uapi" -I"$kdir/include/generated/uapi" \
        -include "$src/include/linux/kconfig.h" -I"$inc" -I"$SRC/include" \
        -Wall -Werror -Wno-unused-value -Wno-pointer-sign -Wno-compare-distinct-pointer-types \
        -Wno-gnu-variable-sized-type-not-at-end -Wno-address-of-packed-member -Wno-tautological-compare \
        -Wno-unknown-warning-option -Wno-unused-function -Wno-incompatible-pointer-types-discards-qualifiers \
        -emit-llvm -Xclang -disable-llvm-passes -c "$c" -o "$o.bc"
      opt -O2 -mtriple=bpf-pc-linux "$o.bc" -o "$o.opt.bc"
      llc -march=bpf -mcpu=v2 -filetype=obj "$o.opt.bc" -o "$o.tmp"
      rm -f "$o.bc" "$o.opt.bc"
      llvm-strip -g "$o.tmp"
      mv "$o.tmp" "$o"
    done
  done
  echo "$rel" > "$out/kernel"
  say "objects for $rel in $out"
}
if [ -n "$COMPAT" ]; then
  build_compat
  exit 0
fi
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
  # what the program embeds (src/bpf/embedded/): a sixth of the size, so a sixth of the bundle's source that V8 keeps
  gzip -9 -n -c "$o" > "$o.gz.tmp"
  mv "$o.gz.tmp" "$o.gz"
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
