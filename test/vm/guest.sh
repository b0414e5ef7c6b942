#!/usr/bin/env bash
# guest.sh - runs one command inside a qemu guest booted on a stock Debian
# kernel, with this machine's root filesystem visible read-only (a throw-away
# tmpfs overlay on top) and the project directory shared read-write at the
# same path. The command's output streams back; its exit status is ours.
#
#   test/vm/guest.sh prepare [--kernel NAME]          download/extract/cache, build the initramfs
#   test/vm/guest.sh headers [--kernel NAME]          fetch that kernel's linux-headers packages
#                                                     (cached); prints the directory for
#                                                     scripts/build-bpf.sh --compat
#   test/vm/guest.sh run [options] -- COMMAND [ARG...]
#   test/vm/guest.sh check                            can a guest run here? (reason on stdout)
#
# Kernels (--kernel):
#   stock      Debian 12's linux-image-amd64 (6.1): kprobes, fentry/fexit, BTF
#   backports  bookworm-backports' linux-image-amd64 (6.12): also kprobe-multi (CONFIG_FPROBE)
#   bullseye   Debian 11's linux-image-amd64 (5.10): BTF and ring buffers, no drop
#              reasons (5.17), no kprobe-multi
#
# run options:
#   -t SECS     time limit for the whole run (default 900)
#   -m MB       guest memory (default 1024)      -c N  guest vCPUs (default 2)
#   -e VAR=VAL  environment variable for the command (repeatable)
#   --hide-btf  mount an empty tmpfs over /sys/kernel/btf before the command
#   --systemd   boot systemd as PID 1 (the host's /lib/systemd/systemd) into a
#               target of two units: journald and a service that runs the
#               command; systemctl and journalctl work as on a real machine
#   -v          copy the guest's console to stderr
#
# Exit status: the command's; 77 when no guest can run here (the reason is on
# stderr: qemu missing, ...); 124 on timeout; 125 when the guest failed to boot.
# Cache: ${NETTRACE_VM_CACHE:-~/.cache/nettrace-vm} (kernels ~500 MB each).
# Nothing is left behind: the qemu process and the per-run directory go away
# on exit, timeout, Ctrl-C or SIGTERM.
set -uo pipefail

PROG=guest.sh
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
CACHE=${NETTRACE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nettrace-vm}
BUSYBOX=${NETTRACE_VM_BUSYBOX:-/bin/busybox}
# a boot takes about 2 s here; on a machine NETTRACE_TEST_TIME_SCALE times slower, longer
BOOT_TIMEOUT=${NETTRACE_VM_BOOT_TIMEOUT:-$((40 * ${NETTRACE_TEST_TIME_SCALE:-1}))}
BOOT_RETRIES=2

die() { echo "$PROG: $*" >&2; exit 125; }
unavailable() { echo "$PROG: no guest can run here: $*" >&2; exit 77; }
usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }

# ---------------------------------------------------------------------------
# What the host needs
# ---------------------------------------------------------------------------
is_static() {  # an ELF without a PT_INTERP program header
  local f=$1 off sz n i
  off=$(od -An -t u8 -j 32 -N 8 "$f") sz=$(od -An -t u2 -j 54 -N 2 "$f") n=$(od -An -t u2 -j 56 -N 2 "$f")
  for ((i = 0; i < n; i++)); do
    [ "$(od -An -t u4 -j $((off + i * sz)) -N 4 "$f" | tr -d ' ')" = 3 ] && return 1
  done
  return 0
}

host_problem() {  # prints why no guest can run here, or nothing
  local t
  for t in qemu-system-x86_64 cpio xz dpkg-deb depmod apt-get timeout flock; do
    command -v "$t" >/dev/null || { echo "'$t' is not installed (apt-get install qemu-system-x86 cpio xz-utils kmod)"; return; }
  done
  [ -x "$BUSYBOX" ] || { echo "$BUSYBOX is missing (apt-get install busybox-static)"; return; }
  is_static "$BUSYBOX" || { echo "$BUSYBOX is dynamically linked (apt-get install busybox-static)"; return; }
  [ "$(uname -m)" = x86_64 ] || echo "the guest kernels are x86_64, this machine is $(uname -m)"
}

# ---------------------------------------------------------------------------
# Kernel: downloaded as a .deb, extracted, never installed
# ---------------------------------------------------------------------------
APT_OPTS=()
apt_for() {  # sets APT_OPTS for a kernel source
  case $1 in
    stock) APT_OPTS=() ;;
    backports | bullseye)
      local d=$CACHE/apt-$1
      mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
      if [ "$1" = backports ]; then
        echo "deb http://deb.debian.org/debian bookworm-backports main" > "$d/sources.list"
      else
        printf '%s\n' "deb http://deb.debian.org/debian bullseye main" \
          "deb http://deb.debian.org/debian-security bullseye-security main" > "$d/sources.list"
      fi
      APT_OPTS=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" -o Debug::NoLocking=1)
      ;;
    *) echo "$PROG: unknown kernel '$1' (stock, backports or bullseye)" >&2; exit 2 ;;
  esac
}

resolve_kver() {  # the versioned linux-image package linux-image-amd64 depends on
  local kv
  kv=$(apt-cache "${APT_OPTS[@]}" depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { sub("linux-image-", "", $2); print $2; exit }')
  if [ -z "$kv" ]; then
    apt-get "${APT_OPTS[@]}" update -qq >&2 || true
    kv=$(apt-cache "${APT_OPTS[@]}" depends linux-image-amd64 2>/dev/null |
      awk '/Depends: linux-image-[0-9]/ { sub("linux-image-", "", $2); print $2; exit }')
  fi
  echo "$kv"
}

INIT_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio netfs fscache 9pnet 9pnet_virtio 9p overlay virtio_console"

# Debian moves its kernels (6.1.0-50 became 6.1.0-57): the package lists are
# refreshed when older than NETTRACE_VM_REFRESH_HOURS (6), or always with
# NETTRACE_VM_REFRESH=1 (CI), so a guest boots the kernel Debian ships today.
# Offline, the kernel used last time is used again, with a warning.
refresh_lists() {  # $1 = source
  local stamp=$CACHE/$1.lists-updated max=$((${NETTRACE_VM_REFRESH_HOURS:-6} * 3600))
  if [ "${NETTRACE_VM_REFRESH:-0}" != 1 ] && [ -f "$stamp" ] && [ $(($(date +%s) - $(stat -c %Y "$stamp"))) -lt "$max" ]; then
    return 0
  fi
  if apt-get "${APT_OPTS[@]}" update -qq 2>&1 | grep -v unsandboxed >&2; [ "${PIPESTATUS[0]}" = 0 ]; then
    touch "$stamp"
  else
    echo "$PROG: apt-get update failed for the $1 kernel: using the kernel cached last time" >&2
  fi
}

prepare_kernel() {  # $1 = source; sets KVER KDIR KERNEL KPKG (the package's version)
  local source=$1 kd kv
  apt_for "$source"
  refresh_lists "$source"
  kv=$(resolve_kver)
  if [ -z "$kv" ] && [ -f "$CACHE/$source.kver" ] && [ -f "$CACHE/$(cat "$CACHE/$source.kver")/.complete" ]; then
    kv=$(cat "$CACHE/$source.kver")
  fi
  [ -n "$kv" ] || die "cannot find the $source kernel package (apt-get update?)"
  kd=$CACHE/$kv
  if [ ! -f "$kd/.complete" ]; then
    echo "$PROG: fetching kernel $kv ($source) into $kd, once" >&2
    rm -rf "$kd"; mkdir -p "$kd/x" || die "cannot create $kd"
    (cd "$kd" && apt-get "${APT_OPTS[@]}" download "linux-image-$kv" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2)
    ls "$kd"/linux-image-*.deb >/dev/null 2>&1 || die "apt-get download linux-image-$kv failed"
    dpkg-deb -f "$kd"/linux-image-*.deb Version > "$kd/package-version" || die "dpkg-deb -f failed"
    dpkg-deb -x "$kd"/linux-image-*.deb "$kd/x" || die "dpkg-deb -x failed"
    rm -f "$kd"/*.deb
    depmod -b "$kd/x" "$kv" || die "depmod failed"
    mv "$kd/x/lib/modules/$kv" "$kd/modules"
    mv "$kd/x/boot/vmlinuz-$kv" "$kd/vmlinuz"
    mv "$kd/x/boot/config-$kv" "$kd/config"
    rm -rf "$kd/x"
    # bzImage -> the ELF inside it: qemu boots that through its PVH entry and
    # skips the xz decompressor, seconds under TCG. It also carries .BTF.
    # (6.1 packs it with xz, 6.12 with zstd; without the tool, qemu boots the bzImage)
    local off magic tool
    for magic in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd'; do
      tool=${magic%%:*}
      command -v "$tool" >/dev/null || continue
      off=$(LC_ALL=C grep -obUaP "${magic#*:}" "$kd/vmlinuz" | head -n 1 | cut -d: -f1)
      [ -n "$off" ] || continue
      tail -c +$((off + 1)) "$kd/vmlinuz" | "$tool" -dc > "$kd/vmlinux" 2>/dev/null
      [ "$(head -c 4 "$kd/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] && break
      rm -f "$kd/vmlinux"
    done
    touch "$kd/.complete"
  fi
  echo "$kv" > "$CACHE/$source.kver"
  KVER=$kv KDIR=$(readlink -f "$kd")
  if [ ! -s "$kd/package-version" ]; then
    apt-cache "${APT_OPTS[@]}" show "linux-image-$kv" 2>/dev/null | awk '/^Version:/ { print $2; exit }' > "$kd/package-version"
  fi
  KPKG=$(cat "$kd/package-version" 2>/dev/null); [ -n "$KPKG" ] || KPKG=unknown
  KERNEL=$KDIR/vmlinux
  [ -f "$KERNEL" ] || KERNEL=$KDIR/vmlinuz
  [[ $KDIR == *[[:space:]]* ]] && die "the cache path must not contain spaces: $KDIR"
  return 0
}

# ---------------------------------------------------------------------------
# Guest side. Stage 1 is /init of the initramfs; stage 2 runs as PID 1 after
# chroot into the overlay of the host's root, so the kernel's module
# autoloader (which runs in PID 1's root) finds the guest kernel's modules.
# ---------------------------------------------------------------------------
read -r -d '' STAGE1 <<'EOF'
#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "<3>nettrace-vm: FAILED: $*" > /dev/kmsg; reboot -f; }
for m in @LOAD@; do insmod /lib/modules/$m.ko || fail "insmod $m"; done
O9=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /lower /ovl
mount -t 9p -o $O9,cache=loose,ro hostroot /lower || fail "9p host root"
mount -t tmpfs -o mode=755 tmpfs /ovl
mkdir -p /ovl/u /ovl/w
mount -t overlay -o lowerdir=/lower,upperdir=/ovl/u,workdir=/ovl/w overlay /newroot || fail "overlay"
N=/newroot
mount -t proc proc $N/proc
mount -t sysfs sysfs $N/sys
mount -t devtmpfs devtmpfs $N/dev
mkdir -p $N/dev/pts $N/dev/shm
mount -t devpts -o ptmxmode=666 devpts $N/dev/pts
mount -t tmpfs tmpfs $N/dev/shm
mount -t tmpfs -o mode=755 tmpfs $N/run
mount -t tmpfs tmpfs $N/tmp
mount -t tracefs tracefs $N/sys/kernel/tracing
mount -t debugfs debugfs $N/sys/kernel/debug
mount -t bpf -o mode=700 bpf $N/sys/fs/bpf
mount -t cgroup2 cgroup2 $N/sys/fs/cgroup
mkdir -p $N/lib/modules/$ntvm_kver $N/run/vm $N/boot
mount --bind /lower$ntvm_kdir/modules $N/lib/modules/$ntvm_kver || fail "modules"
cp /lower$ntvm_kdir/config $N/boot/config-$ntvm_kver
cp /bin/busybox /stage2 $N/run/vm/
cp /lower$ntvm_run/cmd $N/run/vm/cmd || fail "no command"
mkdir -p "$N$ntvm_share"
# cache=loose: nothing writes the project while guests run, so the guest may keep what it read (cache=mmap sent
# every read and lookup over 9p: on 5.10 loading ajv's modules took 110 s instead of 8, nettrace --check 12 s instead of 8)
mount -t 9p -o $O9,cache=loose project "$N$ntvm_share" || fail "9p project"
if [ "$ntvm_hide_btf" = 1 ]; then
  mount -t tmpfs -o ro,mode=755 nobtf $N/sys/kernel/btf || fail "hide BTF"
fi
if [ "$ntvm_systemd" = 1 ]; then
  # systemd as PID 1, into the guest's own target (not the host's default: its enabled services stay off); the
  # command runs as a service of it (stage 2 as below), with journald
  mkdir -p $N/run/systemd/system
  cp /units/* $N/run/systemd/system/
  exec switch_root $N /lib/systemd/systemd --unit=nettrace-vm.target
fi
exec chroot $N /run/vm/busybox sh /run/vm/stage2
EOF

read -r -d '' STAGE2 <<'EOF'
B=/run/vm/busybox
$B hostname nettrace-vm
$B ip link set lo up
out=/dev/null err=/dev/null ctl=/dev/null
for d in /sys/class/virtio-ports/vport*; do
  case "$($B cat $d/name 2>/dev/null)" in
    out) out=/dev/${d##*/} ;;
    err) err=/dev/${d##*/} ;;
    ctl) ctl=/dev/${d##*/} ;;
  esac
done
echo started > $ctl
/bin/bash /run/vm/cmd </dev/null >$out 2>$err
rc=$?
$B sync
echo "rc=$rc" > $ctl
$B reboot -f
EOF

# --systemd: the target systemd boots into, and the service that runs stage 2
read -r -d '' VM_TARGET <<'EOF'
[Unit]
Description=nettrace guest: the journal and the command (test/vm/guest.sh --systemd)
Wants=systemd-journald.socket systemd-journald.service nettrace-vm.service
EOF
read -r -d '' VM_SERVICE <<'EOF'
[Unit]
Description=the guest's command (test/vm/guest.sh)
DefaultDependencies=no
After=systemd-journald.socket systemd-journald.service

[Service]
Type=exec
ExecStart=/run/vm/busybox sh /run/vm/stage2
StandardInput=null
EOF

build_initramfs() {  # sets INITRD; keyed by the guest scripts, busybox and kernel
  local init=$STAGE1 key ir m f
  key=$({ printf '%s\n%s\n%s\n%s\n%s\n%s\n' "$init" "$STAGE2" "$VM_TARGET" "$VM_SERVICE" "$KVER" "$INIT_MODULES"
    cat "$BUSYBOX"; } | sha256sum | cut -c1-16)
  INITRD=$KDIR/initramfs-$key.cpio
  [ -f "$INITRD" ] && return 0
  ir=$(mktemp -d "$KDIR/.initramfs.XXXXXX") || die "mktemp"
  mkdir -p "$ir"/{bin,dev,proc,sys,newroot,lower,ovl,lib/modules,units}
  cp "$BUSYBOX" "$ir/bin/busybox"
  printf '%s\n' "$VM_TARGET" > "$ir/units/nettrace-vm.target"
  printf '%s\n' "$VM_SERVICE" > "$ir/units/nettrace-vm.service"
  for m in $("$ir/bin/busybox" --list); do [ "$m" = busybox ] || ln -s busybox "$ir/bin/$m"; done
  printf '%s\n' "$STAGE2" > "$ir/stage2"
  local load=
  for m in $INIT_MODULES; do
    # built in, or merged into another module (fscache into netfs in 6.12): nothing to load
    grep -qE "/$m\.ko$" "$KDIR/modules/modules.builtin" 2>/dev/null && continue
    f=$(awk -F: -v m="$m" '{ n = $1; sub(".*/", "", n); sub("\\.ko(\\.xz|\\.zst|\\.gz)?$", "", n); if (n == m) { print $1; exit } }' "$KDIR/modules/modules.dep")
    [ -n "$f" ] || continue
    case $f in
      *.xz) xz -dc "$KDIR/modules/$f" ;;
      *.zst) zstd -dc "$KDIR/modules/$f" ;;
      *.gz) gzip -dc "$KDIR/modules/$f" ;;
      *) cat "$KDIR/modules/$f" ;;
    esac > "$ir/lib/modules/$m.ko" || { rm -rf "$ir"; die "cannot unpack module $m of $KVER"; }
    load="$load $m"
  done
  init=${init//@LOAD@/$load}
  printf '%s\n' "$init" > "$ir/init"; chmod 755 "$ir/init"
  (cd "$ir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$INITRD.tmp" || { rm -rf "$ir"; die "cpio"; }
  mv "$INITRD.tmp" "$INITRD"
  rm -rf "$ir"
  find "$KDIR" -maxdepth 1 -name 'initramfs-*.cpio' ! -path "$INITRD" -delete
}

# The kernel's headers as Debian packages them: linux-headers-KVER (generated
# files, config) and the -common package it depends on (the sources), both
# extracted under the kernel's cache directory.
prepare_headers() {  # after prepare_kernel; sets HEADERS
  local hd=$KDIR/headers common
  HEADERS=$hd/usr/src/linux-headers-$KVER
  [ -f "$hd/.complete" ] && return 0
  echo "$PROG: fetching the headers of $KVER into $hd, once" >&2
  rm -rf "$hd"; mkdir -p "$hd/debs" || die "cannot create $hd"
  common=$(apt-cache "${APT_OPTS[@]}" depends "linux-headers-$KVER" 2>/dev/null |
    awk '/Depends: linux-headers-.*-common/ { print $2; exit }')
  [ -n "$common" ] || die "cannot find the -common headers package linux-headers-$KVER depends on"
  (cd "$hd/debs" && apt-get "${APT_OPTS[@]}" download "linux-headers-$KVER" "$common" 2>&1 |
    grep -v '^W: Download is performed unsandboxed' >&2)
  local deb
  for deb in "$hd"/debs/*.deb; do
    [ -f "$deb" ] || die "apt-get download linux-headers-$KVER $common failed"
    dpkg-deb -x "$deb" "$hd" || die "dpkg-deb -x $deb failed"
  done
  rm -rf "$hd/debs"
  [ -f "$HEADERS/include/generated/utsrelease.h" ] || die "no $HEADERS/include/generated/utsrelease.h in linux-headers-$KVER"
  touch "$hd/.complete"
}

prepare() {  # $1 = kernel source; under a lock, so parallel runs share one download
  mkdir -p "$CACHE" || die "cannot create $CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  prepare_kernel "$1"
  build_initramfs
  exec 9>&-
}

# ---------------------------------------------------------------------------
# Host side of a run
# ---------------------------------------------------------------------------
host_tsc_khz() {
  # Under TCG the guest's TSC ticks at the host's rate, and the guest's own
  # calibration against the PIT can hang the boot: hand it the rate.
  local mhz
  mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' | tail -n 1)
  [ -n "$mhz" ] || mhz=$(dmesg 2>/dev/null | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n 1)
  [ -n "$mhz" ] || { grep -qw constant_tsc /proc/cpuinfo && mhz=$(awk -F': *' '/^cpu MHz/ { print $2; exit }' /proc/cpuinfo); }
  [ -n "$mhz" ] && awk -v m="$mhz" 'BEGIN { printf "%d", m * 1000 }'
}

kvm_usable() {  # a hardware-backed /dev/kvm (a software KVM such as kvm_pvm cannot run a stock kernel)
  [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] && { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; }
}

sq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

RUN= QPID= CATPIDS=()
cleanup() {
  trap - EXIT INT TERM HUP
  if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null; wait "$QPID" 2>/dev/null; fi
  local p
  for p in "${CATPIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$RUN" ] && rm -rf "$RUN"
}

run() {
  local source=stock timeout=900 mem=1024 cpus=2 hide_btf=0 systemd=0 verbose=0 envs=()
  while [ $# -gt 0 ]; do
    case $1 in
      --kernel) source=$2; shift 2 ;;
      -t) timeout=$2; shift 2 ;;
      -m) mem=$2; shift 2 ;;
      -c) cpus=$2; shift 2 ;;
      -e) [[ $2 == *=* && ${2%%=*} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "$PROG: bad -e '$2' (VAR=VALUE)" >&2; exit 2; }
          envs+=("$2"); shift 2 ;;
      --hide-btf) hide_btf=1; shift ;;
      --systemd) systemd=1; shift ;;
      -v) verbose=1; shift ;;
      --) shift; break ;;
      *) echo "$PROG: unknown run option '$1'" >&2; exit 2 ;;
    esac
  done
  [ $# -ge 1 ] || { echo "$PROG: run: no command" >&2; exit 2; }
  [[ $timeout =~ ^[1-9][0-9]*$ && $mem =~ ^[1-9][0-9]*$ && $cpus =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: -t/-m/-c want positive numbers" >&2; exit 2; }
  local why; why=$(host_problem)
  [ -z "$why" ] || unavailable "$why"
  prepare "$source"

  mkdir -p "$CACHE/runs"
  find "$CACHE/runs" -mindepth 1 -maxdepth 1 -type d -mmin +1440 -exec rm -rf {} + 2>/dev/null
  RUN=$(mktemp -d "$(readlink -f "$CACHE")/runs/XXXXXXXX") || die "mktemp"
  trap cleanup EXIT
  trap 'cleanup; exit 130' INT
  trap 'cleanup; exit 143' TERM HUP

  {
    echo "export PATH=$(sq "${PATH:-/usr/sbin:/usr/bin:/sbin:/bin}") HOME=$(sq "${HOME:-/root}") TERM=dumb"
    echo "export NETTRACE_GUEST_KERNEL=$(sq "$source")"
    local e
    for e in "${envs[@]}"; do echo "export ${e%%=*}=$(sq "${e#*=}")"; done
    echo "cd $(sq "$ROOT")"
    printf '%q ' "$@"; echo
  } > "$RUN/cmd"

  local accel machine tsc=
  if kvm_usable; then
    accel=(-accel kvm -cpu host) machine=microvm
  else
    accel=(-accel tcg,thread=multi,tb-size=128 -cpu max)
    local khz; khz=$(host_tsc_khz)
    if [ -n "$khz" ] && [ "$khz" -gt 100000 ]; then tsc="tsc_early_khz=$khz tsc=reliable" machine=microvm
    else machine=q35; fi   # without a known TSC rate: q35 has HPET/PM timer to calibrate against
  fi
  local bus=pci; [ $machine = microvm ] && bus=device
  local qemu=(qemu-system-x86_64 -M "$machine" "${accel[@]}" -smp "$cpus" -m "$mem"
    -nodefaults -no-user-config -display none -no-reboot
    -kernel "$KERNEL" -initrd "$INITRD"
    -append "console=ttyS0 panic=-1 8250.nr_uarts=1 cryptomgr.notests $tsc ntvm_kver=$KVER ntvm_kdir=$KDIR ntvm_run=$RUN ntvm_share=$ROOT ntvm_hide_btf=$hide_btf ntvm_systemd=$systemd"
    -serial "file:$RUN/console.log"
    -fsdev "local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap"
    -device "virtio-9p-$bus,fsdev=fsroot,mount_tag=hostroot"
    -fsdev "local,id=fsproj,path=${ROOT//,/,,},security_model=none,multidevs=remap"
    -device "virtio-9p-$bus,fsdev=fsproj,mount_tag=project"
    -device "virtio-serial-$bus,id=vser"
    -chardev "pipe,id=out,path=$RUN/out" -device virtserialport,bus=vser.0,chardev=out,name=out
    -chardev "pipe,id=err,path=$RUN/err" -device virtserialport,bus=vser.0,chardev=err,name=err
    -chardev "file,id=ctl,path=$RUN/ctl" -device virtserialport,bus=vser.0,chardev=ctl,name=ctl)
  [[ $ROOT == *[[:space:]]* ]] && die "the project path must not contain spaces: $ROOT"

  # guest stdout/stderr: virtio-serial -> fifo -> cat onto our own fds
  mkfifo "$RUN/out.in" "$RUN/out.out" "$RUN/err.in" "$RUN/err.out" "$RUN/tick" || die mkfifo
  exec 7<>"$RUN/tick"   # `read -t` on it sleeps without forking
  local deadline=$((SECONDS + timeout)) attempt=0 stalled line qrc t0 left tailpid=
  while :; do
    attempt=$((attempt + 1)) stalled=0 line=
    : > "$RUN/console.log"; : > "$RUN/ctl"
    cat "$RUN/out.out" & CATPIDS+=($!)
    cat "$RUN/err.out" >&2 & CATPIDS+=($!)
    [ $verbose = 1 ] && { tail -n +1 -s 0.2 -f "$RUN/console.log" >&2 & tailpid=$!; CATPIDS+=($tailpid); }
    left=$((deadline - SECONDS)); [ $left -gt 0 ] || left=1
    timeout -k 5 "$left" "${qemu[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
    QPID=$!
    t0=$SECONDS
    while kill -0 "$QPID" 2>/dev/null; do
      IFS= read -r line < "$RUN/ctl" && [ "$line" = started ] && break
      if [ $((SECONDS - t0)) -ge "$BOOT_TIMEOUT" ]; then stalled=1; kill "$QPID"; break; fi
      read -t 0.05 -u 7
    done
    wait "$QPID"; qrc=$?
    QPID=
    # unblock a cat still waiting in open() (qemu never opened its fifo), then reap
    local f p
    for f in out err; do exec 8<>"$RUN/$f.out"; exec 8>&-; done
    for p in "${CATPIDS[@]}"; do [ "$p" = "$tailpid" ] && kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    CATPIDS=()
    if [ $stalled = 1 ] && [ $attempt -le $BOOT_RETRIES ] && [ $SECONDS -lt $deadline ]; then
      echo "$PROG: the guest did not start the command within ${BOOT_TIMEOUT}s; booting again" >&2
      continue
    fi
    # the kernel died while booting (seen once: 6.12 oopsed in sched_init_debug under TCG): boot again
    if [ $stalled = 0 ] && ! grep -qx started "$RUN/ctl" 2>/dev/null && [ $attempt -le $BOOT_RETRIES ] &&
      [ $SECONDS -lt $deadline ]; then
      cp "$RUN/console.log" "$CACHE/last-failure-console.log" 2>/dev/null
      echo "$PROG: the guest stopped (qemu exit $qrc) before it started the command; booting again" >&2
      continue
    fi
    break
  done

  local rc
  rc=$(sed -n 's/^rc=\([0-9]*\)$/\1/p' "$RUN/ctl" 2>/dev/null | tail -n 1)
  [ -n "$rc" ] && exit "$rc"
  if [ $stalled = 1 ]; then
    echo "$PROG: the guest never started the command ($attempt boots)" >&2; rc=125
  elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    echo "$PROG: time limit of ${timeout}s reached$([ "$line" = started ] || echo ' before the command started')" >&2; rc=124
  else
    echo "$PROG: the guest stopped (qemu exit $qrc) before the command finished" >&2; rc=125
  fi
  cp "$RUN/console.log" "$CACHE/last-failure-console.log" 2>/dev/null
  { echo "--- qemu:"; tail -n 20 "$RUN/qemu.log"; echo "--- guest console (tail; all of it in $CACHE/last-failure-console.log):"
    tail -n 30 "$RUN/console.log" | tr -d '\r'; } >&2
  exit $rc
}

case ${1:-} in
  prepare)
    shift; source=stock
    [ "${1:-}" = --kernel ] && { source=$2; shift 2; }
    why=$(host_problem); [ -z "$why" ] || unavailable "$why"
    prepare "$source"
    echo "kernel $KVER: $KERNEL"; echo "package: linux-image-$KVER $KPKG"; echo "initramfs: $INITRD"
    ;;
  headers)
    shift; source=stock
    [ "${1:-}" = --kernel ] && { source=$2; shift 2; }
    mkdir -p "$CACHE" || die "cannot create $CACHE"
    exec 9>"$CACHE/.lock"
    flock 9
    prepare_kernel "$source"
    prepare_headers
    exec 9>&-
    echo "$HEADERS"
    ;;
  run) shift; run "$@" ;;
  check) why=$(host_problem); [ -z "$why" ] && { echo ok; exit 0; }; echo "$why"; exit 77 ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
