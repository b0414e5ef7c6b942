#!/usr/bin/env bash
# Builds what users install, from a clean clone, offline:
#   dist/nettrace.js                     the program in one file (deno bundle): BPF objects,
#                                        tracer tree and rules embedded
#   dist/nettrace_VERSION_amd64.deb      the bundle, the Deno runtime (npm package `deno`),
#   dist/nettrace-VERSION.x86_64.rpm     /usr/bin/nettrace, nettrace(8), bash and fish
#                                        completions, the docs; they depend on the libbpf
#                                        runtime only (no compiler, no bpftool, no npm)
#
#   scripts/package.sh [--bundle-only | --deb-only | --compile] [--btf FILE]
#
# --compile makes dist/nettrace, one executable (deno compile of the bundle,
# from a directory with no package.json or node_modules, so nothing but the
# bundle is embedded). It needs the network: deno compile downloads `denort`
# from dl.deno.land, which no npm or Debian mirror has. Offline, use the
# bundle or the packages. --btf FILE builds the BPF objects' kernel types from
# that BTF instead of the committed vmlinux.h (scripts/build-bpf.sh --btf).
#
# Needs what scripts/setup.sh installs, plus dpkg-deb (dpkg) and rpmbuild (rpm): it
# installs rpm with apt when missing. The version is src/version.ts's.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
BUNDLE_ONLY=0 DEB_ONLY=0 COMPILE=0 BTF_ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --bundle-only) BUNDLE_ONLY=1 ;;
    --compile) BUNDLE_ONLY=1 COMPILE=1 ;;
    --deb-only) DEB_ONLY=1 ;;
    --btf) [ $# -ge 2 ] || { echo "package.sh: --btf needs a file" >&2; exit 2; }; BTF_ARGS=(--btf "$2"); shift ;;
    *) echo "package.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
say() { echo "package: $*" >&2; }

DENO=$(scripts/setup.sh --quiet)
VERSION=$(sed -nE 's/^export const VERSION = "([^"]+)";$/\1/p' src/version.ts)
[ -n "$VERSION" ] || { echo "package.sh: no VERSION in src/version.ts" >&2; exit 1; }
# dates in the page and the archives: the last commit's, so two builds of one commit match
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH DENO_NO_UPDATE_CHECK=1

scripts/build-bpf.sh --if-stale --quiet "${BTF_ARGS[@]}"
mkdir -p dist
say "bundle dist/nettrace.js (nettrace $VERSION)"
scripts/bundle.sh "$DENO" dist/nettrace.js
if [ "$COMPILE" = 1 ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp dist/nettrace.js "$work/nettrace.js"
  say "compile dist/nettrace (downloads denort from dl.deno.land)"
  (cd "$work" && "$DENO" compile --quiet --no-config --allow-all --v8-flags=--max-semi-space-size=2,--expose-gc --output "$ROOT/dist/nettrace" nettrace.js) ||
    { echo "package.sh: deno compile failed (it needs the network for denort); offline, ship dist/nettrace.js or the packages" >&2; exit 1; }
fi
[ "$BUNDLE_ONLY" = 1 ] && exit 0

if [ "$DEB_ONLY" = 0 ] && ! command -v rpmbuild >/dev/null 2>&1; then
  say "installing rpm with apt (rpmbuild makes the .rpm)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm >/dev/null ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rpm >/dev/null; }
fi

# The Deno runtime that runs the bundle: the binary of the npm package (never its Node.js wrapper)
RUNTIME=$(ls "$ROOT"/node_modules/@deno/linux-x64-glibc/deno 2>/dev/null || true)
[ -n "$RUNTIME" ] || RUNTIME=$(readlink -f "$DENO")
[ -x "$RUNTIME" ] || { echo "package.sh: no Deno runtime binary to ship (run scripts/setup.sh)" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
tree=$STAGE/root
install -d "$tree/usr/bin" "$tree/usr/lib/nettrace" "$tree/usr/share/man/man8" \
  "$tree/usr/share/bash-completion/completions" "$tree/usr/share/fish/vendor_completions.d" \
  "$tree/usr/share/doc/nettrace" "$tree/usr/lib/systemd/system"
install -m 0644 dist/nettrace.js "$tree/usr/lib/nettrace/nettrace.js"
install -m 0755 "$RUNTIME" "$tree/usr/lib/nettrace/deno"
cat > "$tree/usr/bin/nettrace" <<'EOF'
#!/bin/sh
# nettrace: the bundled program under the Deno runtime shipped beside it
DENO_NO_UPDATE_CHECK=1 exec /usr/lib/nettrace/deno run --quiet --no-prompt --no-config --allow-all \
  --v8-flags=--max-semi-space-size=2,--expose-gc /usr/lib/nettrace/nettrace.js "$@"
EOF
chmod 0755 "$tree/usr/bin/nettrace"
"$DENO" run --quiet --allow-all --config deno.json scripts/write_docs.ts "$STAGE/docs"
gzip -9n <"$STAGE/docs/nettrace.8" >"$tree/usr/share/man/man8/nettrace.8.gz"
install -m 0644 "$STAGE/docs/nettrace.bash" "$tree/usr/share/bash-completion/completions/nettrace"
install -m 0644 "$STAGE/docs/nettrace.fish" "$tree/usr/share/fish/vendor_completions.d/nettrace.fish"
install -m 0644 README.md "$tree/usr/share/doc/nettrace/README.md"
# nettrace --monitor as a service (not enabled: systemctl enable --now nettrace-monitor)
install -m 0644 deploy/nettrace-monitor.service "$tree/usr/lib/systemd/system/nettrace-monitor.service"
install -m 0644 docs/json.md docs/nettrace.schema.json "$tree/usr/share/doc/nettrace/"
gzip -9n <CHANGELOG.md >"$tree/usr/share/doc/nettrace/changelog.gz"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: nettrace"
  echo
  echo "Files: *"
  echo "License: GPL-2.0-only"
  echo " On Debian systems the full text is in /usr/share/common-licenses/GPL-2."
  echo
  echo "Files: usr/lib/nettrace/deno"
  echo "License: MIT"
  echo " The Deno runtime (https://deno.com), from the npm package deno."
} >"$tree/usr/share/doc/nettrace/copyright"
install -m 0644 LICENSE "$tree/usr/share/doc/nettrace/LICENSE"
find "$tree" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

SUMMARY="trace packets through the Linux kernel and tell why they are dropped"
DESCRIPTION="nettrace follows network packets through the Linux kernel with eBPF (CO-RE), says why they were
dropped and what to fix: a drop monitor with the kernel's drop reasons, the life of each packet
through the kernel, and a diagnosis of netfilter, routing, qdisc and TCP socket faults."

# gzip, not xz: every dpkg and rpm reads it, and it packs the 95 MB runtime in seconds (xz: half a minute, 25% smaller)
# .deb
deb=dist/nettrace_${VERSION}_amd64.deb
install -d "$tree/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$tree" | cut -f1)
{
  echo "Package: nettrace"
  echo "Version: $VERSION"
  echo "Architecture: amd64"
  echo "Maintainer: nettrace developers <nettrace@localhost>"
  echo "Installed-Size: $size"
  echo "Depends: libbpf1 (>= 1:1.0), libpcap0.8"
  echo "Section: net"
  echo "Priority: optional"
  echo "Homepage: https://github.com/nettrace/nettrace"
  echo "Description: $SUMMARY"
  sed 's/^/ /' <<<"$DESCRIPTION"
} >"$tree/DEBIAN/control"
# the maintainer scripts: systemd told of the unit, a running monitor restarted on upgrade and stopped on removal
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$tree/DEBIAN/"
say "deb $deb"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$tree" "$deb" >/dev/null
rm -rf "$tree/DEBIAN"
if [ "$DEB_ONLY" = 1 ]; then ls -l dist/nettrace.js "$deb" >&2; exit 0; fi

# .rpm: the same tree, packaged as it is (nothing is built by rpmbuild)
rpm_top=$STAGE/rpm
install -d "$rpm_top/SPECS" "$rpm_top/RPMS"
{
  echo "Name: nettrace"
  echo "Version: $VERSION"
  echo "Release: 1"
  echo "Summary: $SUMMARY"
  echo "License: GPL-2.0-only"
  echo "URL: https://github.com/nettrace/nettrace"
  echo "BuildArch: x86_64"
  echo "Requires: libbpf >= 1.0"
  echo "Requires: libpcap"
  echo "AutoReqProv: no"
  echo "%description"
  echo "$DESCRIPTION"
  # the same as the .deb's maintainer scripts ($1: how many versions stay installed)
  echo "%post"
  echo "if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || :; fi"
  echo "%preun"
  echo "if [ \$1 -eq 0 ] && [ -d /run/systemd/system ]; then systemctl stop nettrace-monitor.service || :; fi"
  echo "%postun"
  echo "if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || :; fi"
  echo "if [ \$1 -ge 1 ] && [ -d /run/systemd/system ]; then systemctl try-restart nettrace-monitor.service || :; fi"
  echo "%install"
  echo "cp -a $tree/. %{buildroot}/"
  echo "%files"
  echo "%license /usr/share/doc/nettrace/LICENSE"
  echo "%doc /usr/share/doc/nettrace/README.md"
  echo "%doc /usr/share/doc/nettrace/json.md"
  echo "%doc /usr/share/doc/nettrace/nettrace.schema.json"
  echo "/usr/share/doc/nettrace/changelog.gz"
  echo "/usr/share/doc/nettrace/copyright"
  echo "/usr/bin/nettrace"
  echo "/usr/lib/nettrace"
  echo "/usr/share/man/man8/nettrace.8.gz"
  echo "/usr/share/bash-completion/completions/nettrace"
  echo "/usr/share/fish/vendor_completions.d/nettrace.fish"
  echo "/usr/lib/systemd/system/nettrace-monitor.service"
} >"$rpm_top/SPECS/nettrace.spec"
say "rpm dist/nettrace-$VERSION.x86_64.rpm"
rpmbuild --quiet -bb --define "_topdir $rpm_top" --define "_build_id_links none" \
  --define "__strip /bin/true" --define "__brp_strip /bin/true" --define "__os_install_post %{nil}" \
  --define "_binary_payload w6.gzdio" "$rpm_top/SPECS/nettrace.spec" >/dev/null
cp "$rpm_top/RPMS/x86_64/nettrace-$VERSION-1.x86_64.rpm" "dist/nettrace-$VERSION.x86_64.rpm"
ls -l dist/nettrace.js "$deb" "dist/nettrace-$VERSION.x86_64.rpm" >&2
