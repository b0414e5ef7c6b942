/**
 * nettrace --monitor as the packages' systemd unit (deploy/nettrace-monitor.service) runs it: systemd's own
 * analyzer verifies the unit in a root where it is installed and rates its hardening; the unit's command line, run
 * with only the unit's capabilities, monitors (a closed port's drop, a refused connection's reset: hooked at the
 * function behind its tracepoint where perf events are refused) and serves its metrics. (This host runs no systemd as PID 1: the
 * sandboxing directives themselves are the analyzer's to check.)
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { removeStaleNamespaces, withNet } from "../helpers/netns.ts";
import { NettraceRun } from "../helpers/nettrace_process.ts";
import { metricsUrl, withOnlyCapabilities } from "../helpers/metrics_endpoint.ts";
import { pathExists } from "../helpers/path_exists.ts";

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
