/**
 * The packages as users install them (scripts/package.sh builds them; scripts/test.sh
 * does so before the suites): the .deb installed with apt into a minimal Debian 12
 * root that has no compiler, where nettrace --drop catches a SYN this test sends to a
 * closed port; the .rpm's metadata, and its payload (the Deno runtime and the bundle)
 * run with a PATH that holds nothing, catching the same drop on this host.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { closedPortSynDrop } from "../helpers/drop_reason_column.ts";
import { must, removeStaleNamespaces, sh, withNet } from "../helpers/netns.ts";
import { bundle, traceUntil } from "../helpers/nettrace_process.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { type DebianRoot, withDebianRoot } from "../helpers/debian_root.ts";
import { pathExists } from "../helpers/path_exists.ts";
import { VERSION } from "../../src/version.ts";

await removeStaleNamespaces();

const ROOT = new URL("../../", import.meta.url).pathname;
const DEB = `${ROOT}dist/nettrace_${VERSION}_amd64.deb`;
const RPM = `${ROOT}dist/nettrace-${VERSION}.x86_64.rpm`;

/** The packages exist and hold the program of this source tree (its bundle, made again now, is theirs). */
async function requireFreshPackages(): Promise<void> {
  for (const p of [DEB, RPM]) {
    assert(await pathExists(p), `${p} is missing: run scripts/package.sh (scripts/test.sh does)`);
  }
  // the checkout's bundle, made again when a source is newer (the one every real-kernel test runs)
  const now = await Deno.readFile(bundle());
  const dir = await Deno.makeTempDir();
  try {
    await must(["dpkg-deb", "-x", DEB, `${dir}/deb`]);
    const shipped = await Deno.readFile(`${dir}/deb/usr/lib/nettrace/nettrace.js`);
    assert(
      now.length === shipped.length && now.every((byte, i) => byte === shipped[i]),
      `${DEB} is older than the source: run scripts/package.sh`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether a command is found on the root's PATH. */
async function onPath(root: DebianRoot, tool: string): Promise<boolean> {
  const r = await root.exec(["sh", "-c", `command -v ${tool} >/dev/null && echo found || echo absent`]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trim() === "found";
}

kernelTest("package: the .deb installs with apt into a minimal Debian 12 root and catches a drop there", async () => {
  await requireFreshPackages();
  // the libbpf and libpcap runtimes are all it depends on: never a compiler, bpftool or npm
  assertEquals((await must(["dpkg-deb", "-f", DEB, "Depends"])).trim(), "libbpf1 (>= 1:1.0), libpcap0.8");
  await withDebianRoot(async (root) => {
    // a production host: no compiler, no bpftool, no npm, no Deno (and the check can see a tool: sh is there)
    assert(await onPath(root, "sh"));
    for (const tool of ["clang", "llc", "bpftool", "npm", "deno"]) {
      assert(!await onPath(root, tool), `${tool} is in the clean root`);
    }
    await Deno.copyFile(DEB, `${root.path}/tmp/nettrace.deb`);
    const install = await root.exec(["apt-get", "install", "-y", "-q", "--no-install-recommends", "/tmp/nettrace.deb"]);
    assertEquals(install.code, 0, install.stdout + install.stderr);
    // apt installed what the package needs (the libbpf runtime), and nothing that compiles
    for (const pkg of ["libbpf1", "libpcap0.8"]) {
      assertMatch(await root.must(["dpkg-query", "-W", "-f", "${Status}", pkg]), /install ok installed/);
    }
    for (const tool of ["clang", "bpftool"]) {
      assert(!await onPath(root, tool), `installing brought ${tool}`);
    }

    assertEquals((await root.must(["nettrace", "-V"])).trim(), `nettrace ${VERSION}`);
    // the capability report loads and attaches probes and sends itself a datagram: the whole runtime works
    assertMatch(
      await root.must(["nettrace", "--check"]),
      /\n {2}tracepoint +yes +attached to skb:kfree_skb, saw a loopback datagram\n/,
    );
    assertMatch(
      await root.must(["nettrace", "explain", "NO_SOCKET"]),
      /^NO_SOCKET \(socket, value \d+ in this kernel\)/,
    );
    const man = await root.exec(["env", "MANPAGER=cat", "man", "nettrace"]);
    assertEquals(man.code, 0, man.stderr);
    assertMatch(man.stdout, /NETTRACE\(8\)[^]*--drop/);
    const completion = await root.must(["sh", "-c", "cat /usr/share/bash-completion/completions/nettrace"]);
    assertMatch(completion, /complete -F _nettrace nettrace/);
    // the monitor's unit, installed and not enabled (test/kernel/service.test.ts runs what it says)
    const unit = await root.must(["cat", "/usr/lib/systemd/system/nettrace-monitor.service"]);
    assertEquals(unit, await Deno.readTextFile(new URL("../../deploy/nettrace-monitor.service", import.meta.url)));

    await withNet("pkgdeb", async (net) => {
      // filtered by a tcpdump expression: the installed libpcap compiles it
      const args = ["--drop", `tcp dst port 9 and dst host ${net.v4.b}`];
      const r = await traceUntil(
        args,
        () => net.tcpConnect(net.a, net.v4.b, 9),
        closedPortSynDrop(),
        root.command(["nettrace", ...args]),
      );
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, closedPortSynDrop());
    });
  });
  await assertNothingLeft("after the .deb's nettrace --drop");
});

kernelTest(
  "package: the .rpm needs libbpf, libpcap and a shell for its scriptlets; its payload runs --drop with nothing on PATH",
  async () => {
    await requireFreshPackages();
    const requires = (await must(["rpm", "-qp", "--requires", RPM])).split("\n").filter((l) =>
      l && !l.startsWith("rpmlib(")
    );
    // (and the shell its scriptlets run in)
    assertEquals([...new Set(requires)], ["/bin/sh", "libbpf >= 1.0", "libpcap"]);
    const files = (await must(["rpm", "-qp", "--list", RPM])).split("\n").filter(Boolean);
    for (
      const f of [
        "/usr/bin/nettrace",
        "/usr/lib/nettrace/deno",
        "/usr/lib/nettrace/nettrace.js",
        "/usr/share/man/man8/nettrace.8.gz",
        "/usr/share/bash-completion/completions/nettrace",
        "/usr/share/fish/vendor_completions.d/nettrace.fish",
        "/usr/share/doc/nettrace/LICENSE",
        "/usr/share/doc/nettrace/json.md",
        "/usr/share/doc/nettrace/nettrace.schema.json",
      ]
    ) assert(files.includes(f), `${f} is not in the .rpm:\n${files.join("\n")}`);
    assertMatch(
      await must(["rpm", "-qp", "--qf", "%{LICENSE} %{VERSION}", RPM]),
      new RegExp(`^GPL-2.0-only ${VERSION}$`),
    );
    // the scriptlets: systemd told of the unit; a running monitor stopped on erase, restarted on upgrade
    const scripts = await must(["rpm", "-qp", "--scripts", RPM]);
    assertMatch(scripts, /^preuninstall scriptlet[^\n]*\n.*\$1 -eq 0 .*systemctl stop nettrace-monitor\.service/m);
    assertMatch(scripts, /^postuninstall scriptlet[\s\S]*systemctl try-restart nettrace-monitor\.service/m);
    assertMatch(scripts, /^postinstall scriptlet[^\n]*\n.*systemctl --system daemon-reload/m);

    const dir = await Deno.makeTempDir({ prefix: "nettrace-rpm-" });
    try {
      const x = await sh(["sh", "-c", `cd ${dir} && rpm2cpio ${RPM} | cpio -idm --quiet`]);
      assertEquals(x.code, 0, x.stderr);
      assert(pathExists(`${dir}/usr/lib/systemd/system/nettrace-monitor.service`), "the monitor's unit is in the .rpm");
      await Deno.mkdir(`${dir}/empty-path`);
      const command = (args: string[]) => [
        "env",
        "-i",
        `PATH=${dir}/empty-path`,
        `HOME=${dir}`,
        `${dir}/usr/lib/nettrace/deno`,
        "run",
        "--quiet",
        "--no-config",
        "--allow-all",
        `${dir}/usr/lib/nettrace/nettrace.js`,
        ...args,
      ];
      await withNet("pkgrpm", async (net) => {
        const args = ["--drop", "-d", net.v4.b, "-D", "9"];
        const r = await traceUntil(args, () => net.tcpConnect(net.a, net.v4.b, 9), closedPortSynDrop(), command(args));
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, closedPortSynDrop());
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    await assertNothingLeft("after the .rpm payload's nettrace --drop");
  },
);
