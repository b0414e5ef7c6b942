/**
 * nettrace --monitor as the packages' systemd unit (deploy/nettrace-monitor.service) runs it: systemd's own
 * analyzer verifies the unit in a root where it is installed and rates its hardening; the unit's command line, run
 * with only the unit's capabilities, monitors (a closed port's drop, a refused connection's reset: hooked at the
 * function behind its tracepoint where perf events are refused) and serves its metrics. Where systemd is PID 1 (the
 * guest of test/vm/guest.sh --systemd; this host has none), the .deb is installed and its unit started with
 * systemctl: its sandbox as the kernel sees it, its drops in the journal and in a real Prometheus, a restart on
 * upgrade, a stop on removal.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { must, removeStaleNamespaces, sh, withNet } from "../helpers/netns.ts";
import { NettraceRun } from "../helpers/nettrace_process.ts";
import { metricsUrl, unitCapabilities, withOnlyCapabilities } from "../helpers/metrics_endpoint.ts";
import { pathExists } from "../helpers/path_exists.ts";
import { prometheusMissing, PrometheusServer } from "../helpers/prometheus_server.ts";
import { VERSION } from "../../src/version.ts";

await removeStaleNamespaces();

const ROOT = new URL("../../", import.meta.url).pathname;
const UNIT = Deno.readTextFileSync(`${ROOT}deploy/nettrace-monitor.service`);

/** The values of a unit directive, in order. */
function directive(name: string): string[] {
  return [...UNIT.matchAll(new RegExp(`^${name}=(.*)$`, "gm"))].map((m) => m[1].trim());
}

/** Debian's level 3 of kernel.perf_event_paranoid: only CAP_SYS_ADMIN opens a perf event (a classic tracepoint). */
const perfEventsRefused = Number(Deno.readTextFileSync("/proc/sys/kernel/perf_event_paranoid").trim()) >= 3;

const analyzeMissing = pathExists("/usr/bin/systemd-analyze") ? undefined : "systemd-analyze is not installed";

kernelTest("service: systemd-analyze verifies the unit where it is installed and rates its exposure OK", async () => {
  const root = await Deno.makeTempDir({ prefix: "nettrace-unit-" });
  try {
    await Deno.mkdir(`${root}/usr/bin`, { recursive: true });
    await Deno.mkdir(`${root}/etc/systemd/system`, { recursive: true });
    await Deno.mkdir(`${root}/lib/systemd`, { recursive: true });
    await Deno.writeTextFile(`${root}/usr/bin/nettrace`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${root}/etc/systemd/system/nettrace-monitor.service`, UNIT);
    // the targets it names (multi-user.target, and sysinit.target every service is after)
    const cp = await new Deno.Command("cp", { args: ["-r", "/lib/systemd/system", `${root}/lib/systemd/`] }).output();
    assert(cp.success, new TextDecoder().decode(cp.stderr));
    const run = (args: string[]) =>
      new Deno.Command("systemd-analyze", { args: [...args, `--root=${root}`, "nettrace-monitor.service"] }).output();
    const verify = await run(["verify", "--man=no"]);
    const dec = new TextDecoder();
    assertEquals(verify.code, 0, dec.decode(verify.stderr) + dec.decode(verify.stdout));
    assertEquals(dec.decode(verify.stderr).trim(), "", "systemd-analyze verify has nothing to say");
    const security = await run(["security", "--offline=yes"]);
    const text = dec.decode(security.stdout) + dec.decode(security.stderr);
    const m = text.match(/Overall exposure level for nettrace-monitor\.service: ([\d.]+) (\w+)/);
    assert(m, text);
    console.log(`  exposure: ${m[1]} ${m[2]}`);
    assert(Number(m[1]) <= 5, `exposure ${m[1]} ${m[2]}:\n${text}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}, analyzeMissing);

kernelTest("service: the unit's command, with only the unit's capabilities, monitors and serves metrics", async () => {
  const [exec] = directive("ExecStart");
  const [binary, ...args] = exec.split(/\s+/);
  assertEquals(binary, "/usr/bin/nettrace");
  assertEquals(args.slice(0, 2), ["--monitor", "--metrics"]);
  assertMatch(args[2], /^127\.0\.0\.1:\d+$/);
  const caps = directive("AmbientCapabilities")[0].split(/\s+/);
  assertEquals(directive("CapabilityBoundingSet")[0].split(/\s+/), caps);
  assert(!caps.includes("CAP_SYS_ADMIN"), caps.join(" "));
  // the unit's own address could be taken on a test machine: a free port instead
  const ours = [...args.slice(0, 2), "127.0.0.1:0"];
  const command = withOnlyCapabilities(caps, ours);
  await withNet("svc", async (net) => {
    const run = await NettraceRun.start(ours, 60000, command);
    try {
      const url = metricsUrl(run);
      await net.udpSend(net.a, net.v4.b, 7551, "svc");
      const netns = String(net.netnsInode(net.b));
      const dropped = new RegExp(`^nettrace_drops_total\\{[^}]*netns="${netns}"[^}]*\\} [1-9]`, "m");
      let text = "";
      for (let i = 0; i < 50 && !dropped.test(text); i++) {
        text = await (await fetch(url)).text();
        if (!dropped.test(text)) await new Promise((r) => setTimeout(r, 100));
      }
      assertMatch(text, dropped);
      assert(await run.waitForLine(/:7551 .*\*UDP port is not open/, 10000), run.stdout);
      // a refused connection: the peer's reset. Where perf events are refused without CAP_SYS_ADMIN (Debian's
      // perf_event_paranoid 3), the tracepoint cannot be attached and the function behind it is hooked instead
      const sockets = run.stderr.match(/^nettrace: --monitor: drops at [^;\n]*; sockets at (.*)$/m)?.[1];
      assert(sockets, run.stderr);
      assertMatch(
        sockets,
        perfEventsRefused
          ? /(^|, )tcp_receive_reset \((fentry|kprobe-multi) tcp_reset\)(,|$)/
          : /(^|, )tcp_receive_reset(,|$)/,
      );
      await net.tcpConnect(net.a, net.v4.b, 7552);
      const refused =
        /^\[[\d.]+\] \[tcp_receive_reset *\] TCP: \S+ -> 10\.231\.0\.2:7552 SYN_SENT .*\*the connection was refused/;
      assert(await run.waitForLine(refused, 10000), `${run.stdout}\n${run.stderr}`);
    } finally {
      await run.stop();
    }
    const r = await run.stop();
    assertEquals(r.code, 0, r.stderr);
  });
  await assertNothingLeft("the unit's command");
});

/** PID 1's name: "systemd" in the --systemd guest. */
const PID1 = Deno.readTextFileSync("/proc/1/comm").trim();
/** The lane that boots systemd says so: there, a PID 1 that is not systemd is a failure, not a reason to skip. */
const systemdExpected = Deno.env.get("NETTRACE_EXPECT_SYSTEMD") === "1";
const noSystemd = PID1 === "systemd" || systemdExpected
  ? prometheusMissing()
  : `PID 1 is ${PID1}, not systemd (test/vm/guest.sh --systemd boots one: CI's stock-systemd lane)`;
const DEB = `${ROOT}dist/nettrace_${VERSION}_amd64.deb`;

/** The capability bits the unit's names stand for (linux/capability.h). */
const CAP_BITS: Record<string, number> = {
  CAP_NET_ADMIN: 12,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
  CAP_SYSLOG: 34,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
};

/** A systemctl show property of the unit. */
async function unitProperty(name: string): Promise<string> {
  return (await must(["systemctl", "show", "-P", name, "nettrace-monitor.service"])).trim();
}

/** The unit's journal since `cursor` (its messages only). */
async function journal(cursor: string): Promise<string> {
  return await must([
    "journalctl",
    "--no-pager",
    "-o",
    "cat",
    "-u",
    "nettrace-monitor.service",
    "--after-cursor",
    cursor,
  ]);
}

/** The running unit's metrics on its address, once it serves them (its start under TCG takes seconds). */
async function scrapeUnit(timeoutMs: number): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch("http://127.0.0.1:9464/metrics");
      if (r.ok) return await r.text();
      await r.body?.cancel();
    } catch (e) {
      if (Date.now() > end) throw new Error(`the unit never served /metrics on 127.0.0.1:9464: ${e}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

kernelTest(
  "service: under systemd, the .deb's unit: sandboxed as written, drops in its journal and in Prometheus; restarted on upgrade, stopped on removal",
  async () => {
    assertEquals(PID1, "systemd", "NETTRACE_EXPECT_SYSTEMD=1, but PID 1 is not systemd");
    assert(pathExists(DEB), `${DEB} is missing: run scripts/package.sh (scripts/test.sh does)`);
    const cursor = (await must(["journalctl", "--show-cursor", "-n", "0", "-q", "--no-pager"]))
      .match(/^-- cursor: (.*)$/m)?.[1];
    assert(cursor, "journalctl gave no cursor");
    await must(["dpkg", "-i", DEB]);
    let prom: PrometheusServer | undefined;
    try {
      await must(["systemctl", "start", "nettrace-monitor.service"]);
      const pid = Number(await unitProperty("MainPID"));
      assert(pid > 0, "the unit has no main process");
      await scrapeUnit(120000);

      // its sandbox, as the kernel holds it: the unit's capabilities and no others, no new privileges, / read-only
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      const want = unitCapabilities().reduce((m, c) => {
        assert(c in CAP_BITS, `the unit names ${c}, which this test does not know the bit of`);
        return m | (1n << BigInt(CAP_BITS[c]));
      }, 0n);
      for (const field of ["CapEff", "CapBnd", "CapAmb"]) {
        const have = BigInt("0x" + status.match(new RegExp(`^${field}:\\s+([0-9a-f]+)$`, "m"))![1]);
        assertEquals(have.toString(16), want.toString(16), `${field} of the unit's process`);
      }
      assertMatch(status, /^NoNewPrivs:\s+1$/m);
      const root = Deno.readTextFileSync(`/proc/${pid}/mountinfo`).split("\n").find((l) => l.split(" ")[4] === "/");
      assertMatch(
        root ?? "",
        /^\S+ \S+ \S+ \S+ \/ (ro|ro,\S*|\S*,ro|\S*,ro,\S*) /,
        "ProtectSystem=strict: / is read-only",
      );

      // 7 drops to a closed port, in a namespace of this test: in the journal with the finding, and through Prometheus
      await withNet("svcsd", async (net) => {
        const netns = String(net.netnsInode(net.b));
        prom = await PrometheusServer.start("nettrace", "127.0.0.1:9464");
        assertEquals(await prom.waitFor(`up{job="nettrace"}`, (v) => v === 1, 60000), 1, await prom.logTail());
        for (let i = 0; i < 7; i++) await net.udpSend(net.a, net.v4.b, 7561, `unit-${i}`);
        // (the namespace's own IPv6 start-up drops a few packets too: UDP's drops only)
        const query = `sum(nettrace_drops_total{netns="${netns}",location="__udp4_lib_rcv"})`;
        assertEquals(await prom.waitFor(query, (v) => v === 7, 60000), 7, `${query} through Prometheus`);
        const shown = /:7561 .*\*UDP port is not open/;
        let text = "";
        for (let i = 0; i < 100 && !shown.test(text); i++) {
          text = await journal(cursor);
          if (!shown.test(text)) await new Promise((r) => setTimeout(r, 200));
        }
        assertMatch(text, shown, "the drop in the unit's journal");
      });

      // an upgrade (the same package again) restarts a running monitor: a new process, serving again
      await must(["dpkg", "-i", DEB]);
      assertEquals(await unitProperty("ActiveState"), "active");
      const again = Number(await unitProperty("MainPID"));
      assert(again > 0 && again !== pid, `not restarted on upgrade (MainPID ${pid}, then ${again})`);
      await scrapeUnit(120000);

      // removal stops it first: its closing counts in the journal, nothing of it left in the kernel
      await must(["dpkg", "-r", "nettrace"]);
      assertEquals(await unitProperty("ActiveState"), "inactive");
      assertMatch(await journal(cursor), /^drops: \d+ events shown, \d+ summarized, 0 lost/m);
    } finally {
      await prom?.stop();
      await sh(["systemctl", "stop", "nettrace-monitor.service"]);
      await sh(["dpkg", "--purge", "nettrace"]);
    }
    await assertNothingLeft("the unit, stopped by the package's removal");
  },
  noSystemd,
);
