#!/usr/bin/env bash
# Installs what nettrace needs to build and run, when it is missing:
#   system packages (Debian/Ubuntu: apt-get) and Deno (npm package, into node_modules/).
#
#   scripts/setup.sh [--test] [--guest] [--quiet] [--why TEXT] [--find-deno]
#
# --test also installs what the test suite uses (iproute2, iptables, nftables,
# util-linux, groff, fish, rpm, rpm2cpio, cpio, debootstrap for the packages,
# podman and runc for the container image, prometheus to scrape --metrics).
# --guest also installs what the guest suite needs (qemu, busybox-static, cpio,
# xz, kmod: test/vm boots Debian kernels with kprobes and fentry under qemu).
# It is fast when everything is there: the launcher calls it on every run.
# Before installing it says what and why ("first run: installing ... with apt"),
# then shows apt's and npm's progress on stderr. --why TEXT heads those lines.
# --find-deno prints the Deno binary when there is one and installs nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TEST=0 GUEST=0 QUIET=0 WHY=setup FIND_DENO=0
while [ $# -gt 0 ]; do
  case $1 in
    --test) TEST=1 ;;
    --guest) GUEST=1 ;;
    --quiet) QUIET=1 ;;
    --why) WHY=$2; shift ;;
    --find-deno) FIND_DENO=1 ;;
    *) echo "setup.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
say() { [ "$QUIET" = 1 ] || echo "$WHY: $*" >&2; }
# apt's and npm's own output: progress while they work, hidden with --quiet
progress() { if [ "$QUIET" = 1 ]; then "$@" >/dev/null 2>&1; else "$@" >&2; fi; }

have_lib() { ldconfig -p 2>/dev/null | grep -q "$1" || [ -e "/usr/lib/$(uname -m)-linux-gnu/$1" ] || [ -e "/usr/lib64/$1" ]; }

# command-or-file -> Debian package
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_cmd clang clang
need_cmd llvm-strip llvm
need_cmd bpftool bpftool
[ -f /usr/include/bpf/bpf_helpers.h ] || missing+=(libbpf-dev)
have_lib libbpf.so.1 || missing+=(libbpf1)
# filter expressions: libpcap compiles them
have_lib libpcap.so.0.8 || missing+=(libpcap0.8)
if [ "$TEST" = 1 ]; then
  need_cmd ip iproute2
  need_cmd iptables iptables
  need_cmd nft nftables
  need_cmd ping iputils-ping
  need_cmd setpriv util-linux
  # -w's pcapng, read with Wireshark's dissectors
  need_cmd tshark tshark
  # the man page and the completions are checked by the programs that read them
  need_cmd groff groff-base
  need_cmd fish fish
  # the packages: built (dpkg-deb, rpmbuild) and tried (a debootstrap root; the .rpm's payload)
  need_cmd dpkg-deb dpkg
  need_cmd rpmbuild rpm
  need_cmd rpm2cpio rpm2cpio
  need_cmd cpio cpio
  need_cmd debootstrap debootstrap
  # the container image: built from the Dockerfile and run (Debian's podman; runc, as crun refuses
  # a hybrid cgroup hierarchy)
  need_cmd podman podman
  need_cmd runc runc
  # --metrics, scraped by a real Prometheus server
  need_cmd prometheus prometheus
fi
if [ "$GUEST" = 1 ]; then
  need_cmd qemu-system-x86_64 qemu-system-x86
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
  need_cmd cpio cpio
  need_cmd xz xz-utils
  need_cmd depmod kmod
fi
# The npm package's node_modules/.bin/deno is a Node.js script that starts the
# binary beside it and does not pass signals on (kill -INT would stop Node and
# leave Deno running, with its BPF programs attached): use the binary itself.
deno_bin() {
  if command -v deno >/dev/null 2>&1; then command -v deno
  elif [ -x "$ROOT/node_modules/deno/deno" ]; then echo "$ROOT/node_modules/deno/deno"
  elif compgen -G "$ROOT/node_modules/@deno/linux-*/deno" >/dev/null; then
    # npm --ignore-scripts leaves the binary in the platform package
    ls "$ROOT"/node_modules/@deno/linux-*/deno | head -n 1
  elif [ -x "$ROOT/node_modules/.bin/deno" ]; then echo "$ROOT/node_modules/.bin/deno"
  fi
}
if [ "$FIND_DENO" = 1 ]; then
  d=$(deno_bin)
  [ -n "$d" ] && [ -f "$ROOT/node_modules/js-yaml/package.json" ] && { echo "$d"; exit 0; }
  exit 1
fi
# npm packages (package.json): Deno when none is on PATH, and the library nettrace imports (js-yaml)
# and, for type checking (deno check, deno test), its types and those of the node: modules nettrace uses,
# and for the tests the JSON Schema validator (ajv) and Kubernetes' schemas (kubernetes-models: deploy/daemonset.yaml)
npm_needed() {
  [ -z "$(deno_bin)" ] || [ ! -f "$ROOT/node_modules/js-yaml/package.json" ] ||
    [ ! -f "$ROOT/node_modules/@types/js-yaml/package.json" ] || [ ! -f "$ROOT/node_modules/@types/node/package.json" ] || [ ! -f "$ROOT/node_modules/ajv/package.json" ] ||
    [ ! -f "$ROOT/node_modules/kubernetes-models/package.json" ]
}
if npm_needed; then need_cmd npm npm; fi

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "nettrace: missing packages (install them with your package manager): ${missing[*]}" >&2
    echo "  (Fedora/RHEL: clang llvm bpftool libbpf libbpf-devel nodejs npm)" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "nettrace: missing packages ${missing[*]}: run as root, or apt-get install them" >&2
    exit 1
  fi
  say "installing ${missing[*]} with apt (clang, llvm and bpftool build the BPF programs; libbpf runs them)"
  export DEBIAN_FRONTEND=noninteractive
  if ! progress apt-get install -y -q "${missing[@]}"; then
    say "apt-get update, then installing again"
    progress apt-get update -q
    progress apt-get install -y -q "${missing[@]}" || { echo "nettrace: apt-get install ${missing[*]} failed" >&2; exit 1; }
  fi
fi

if npm_needed; then
  say "installing the npm packages Deno (the runtime nettrace is written for), js-yaml, their types, ajv and kubernetes-models (tests) into node_modules/"
  (cd "$ROOT" && progress npm install --ignore-scripts --no-audit --no-fund --loglevel=error) || {
    echo "nettrace: npm could not install Deno (npm install in $ROOT failed)" >&2; exit 1; }
fi
deno_bin
