/**
 * deno task bench, part 3: nettrace's memory.
 *
 * Idle RSS (anonymous and file-backed apart: the file-backed part is mostly
 * the pages of the Deno binary) of --drop, lifecycle tracing and --monitor,
 * 10, 60 and 150 seconds after "begin trace...", nettrace run by a copy of the Deno binary
 * as the packages install their own (/usr/lib/nettrace/deno): with this
 * bench's Deno, the pages this process uses too would stay in nettrace's RSS
 * (the kernel reclaims a file's pages only where one process maps them);
 * then a soak: --drop --no-storm-limit while a sender in a test
 * namespace makes 10,000 drops a second, RSS at its start and end; then
 * --monitor --metrics for as long, with 1,000 drops a second to ports that
 * change with each datagram (a new storm key each) and a ten times larger
 * storm in the middle: RSS, the storm map and the metrics' series count at
 * its start and end. A soak's samples, one per 10 s, are judged after their
 * first minute (the heap and the code paged out at start reach their working
 * size in it): their range, their trend, the last minute against the second.
 *
 *   deno run -A bench/memory.ts [--soak-seconds N] [--monitor-only]   (default 600)
 *
 * --monitor-only: the --monitor --metrics soak alone.
 */
import { removeStaleNamespaces, VethPair } from "../test/helpers/netns.ts";
import { startToFile } from "./nettrace_to_file.ts";

const argIdx = Deno.args.indexOf("--soak-seconds");
const SOAK_S = argIdx >= 0 ? Number(Deno.args[argIdx + 1]) : 600;
const RATE = 10_000;

interface Rss {
  totalMiB: number;
  anonMiB: number;
  fileMiB: number;
}

function rss(pid: number): Rss {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (field: string) => Number(s.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
  const mib = (k: number) => Math.round(k / 102.4) / 10;
  return { totalMiB: mib(kib("VmRSS")), anonMiB: mib(kib("RssAnon")), fileMiB: mib(kib("RssFile") + kib("RssShmem")) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Samples taken every 10 s: the first minute (the heap and the paged-out code reaching their working size) apart. */
const WARM_SAMPLES = 6;

/**
 * How flat a soak's samples (MiB, one per 10 s) are after its first minute: their range, the least-squares trend in
 * MiB a minute, and the last minute's mean against the second's.
 */
function flatness(samples: number[]): string {
  const rest = samples.slice(WARM_SAMPLES);
  if (rest.length < 2 * WARM_SAMPLES) return "too short to tell (under 3 minutes)";
  const n = rest.length, xs = rest.map((_, i) => i / 6); // minutes
  const mx = xs.reduce((a, b) => a + b) / n, my = rest.reduce((a, b) => a + b) / n;
  const slope = xs.reduce((a, x, i) => a + (x - mx) * (rest[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
  const first = mean(rest.slice(0, WARM_SAMPLES)), last = mean(rest.slice(-WARM_SAMPLES));
  return `after the first minute ${Math.min(...rest)}-${Math.max(...rest)} MiB (${
    ((Math.max(...rest) / Math.min(...rest) - 1) * 100).toFixed(1)
  }% apart), trend ${slope >= 0 ? "+" : ""}${slope.toFixed(2)} MiB a minute, last minute's mean ${
    last.toFixed(1)
  } against the second's ${first.toFixed(1)} (${((last / first - 1) * 100).toFixed(1)}%)`;
}
const show = (r: Rss) => `${r.totalMiB} MiB (anonymous ${r.anonMiB}, file-backed ${r.fileMiB})`;

/** The Deno runtime of nettrace's own (a copy of this one, as the packages ship theirs), removed at exit. */
const ownRuntime = (() => {
  const dir = Deno.makeTempDirSync({ prefix: "nettrace-bench-" });
  const path = `${dir}/deno`;
  Deno.copyFileSync(Deno.execPath(), path);
  Deno.chmodSync(path, 0o755);
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  return path;
})();

/**
 * When idle RSS is read, in seconds after "begin trace...": nettrace settles its memory again at 3 s, and forgets
 * the kernel's symbols when no address needed them for 2 minutes.
 */
const IDLE_AT_S = [10, 60, 150];

/** Idle RSS of one mode, at each of IDLE_AT_S. */
async function idle(args: string[]): Promise<string> {
  const run = await startToFile(args, "/dev/null", { runtime: ownRuntime });
  try {
    const shown: string[] = [];
    let waited = 0;
    for (const s of IDLE_AT_S) {
      await sleep((s - waited) * 1000);
      waited = s;
      shown.push(`${s} s: ${show(rss(run.child.pid))}`);
    }
    return shown.join("; ");
  } finally {
    await run.stop();
  }
}

/** A sender of `rate` datagrams a second to a closed port (or, with ports, to port 1 + n % ports), for seconds. */
function sender(net: VethPair, seconds: number, rate = RATE, ports = 0): Deno.ChildProcess {
  const code = `
    import dgram from "node:dgram";
    const s = dgram.createSocket("udp4"), payload = new Uint8Array(16);
    const start = Date.now(), end = start + ${seconds * 1000};
    let sent = 0;
    // timers fire late: each tick sends what the rate owes by now, not a fixed share
    const tick = setInterval(() => {
      const owed = Math.floor((Math.min(Date.now(), end) - start) * ${rate} / 1000);
      for (; sent < owed; sent++) s.send(payload, ${ports} ? 1 + sent % ${ports || 1} : 9, "${net.v4.b}");
      if (Date.now() >= end) { clearInterval(tick); setTimeout(() => s.close(), 100); }
    }, 10);`;
  return new Deno.Command("ip", {
    args: ["netns", "exec", net.a, Deno.execPath(), "eval", code],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

if (import.meta.main && Deno.args.includes("--monitor-only")) {
  await removeStaleNamespaces();
  console.log(`\nnettrace's memory under --monitor (kernel ${Deno.osRelease()})\n`);
  const net = await VethPair.create("mem");
  try {
    await monitorSoak(net);
  } finally {
    await net.destroy();
  }
} else if (import.meta.main) {
  await removeStaleNamespaces();
  console.log(`\nnettrace's memory (kernel ${Deno.osRelease()})\n`);
  // -p icmp: a host's occasional drops would each count as a use of the kernel's symbols (kept 2 minutes after)
  console.log(`  idle --drop -p icmp:      ${await idle(["--drop", "-p", "icmp"])}`);
  console.log(`  idle lifecycle (-p icmp): ${await idle(["-p", "icmp"])}`);
  console.log(`  idle --monitor -p icmp:   ${await idle(["--monitor", "-p", "icmp"])}`);
  const net = await VethPair.create("mem");
  try {
    const run = await startToFile(
      ["--drop", "--no-storm-limit", "-d", net.v4.b, "-p", "udp"],
      "/dev/null",
      { runtime: ownRuntime },
    );
    let stopped = false;
    try {
      const flow = sender(net, SOAK_S + 5);
      await sleep(5000);
      const start = rss(run.child.pid);
      const samples: number[] = [];
      for (let t = 0; t < SOAK_S; t += 10) {
        await sleep(10_000);
        samples.push(rss(run.child.pid).totalMiB);
      }
      const end = rss(run.child.pid);
      await flow.status;
      console.log(`  soak, --drop at ${RATE} drops/s for ${SOAK_S} s:`);
      console.log(`    start ${show(start)}`);
      console.log(`    end   ${show(end)}`);
      console.log(
        `    min ${Math.min(...samples)} MiB, max ${Math.max(...samples)} MiB over ${samples.length} samples`,
      );
      console.log(`    ${flatness(samples)}`);
      console.log(`    every sample (MiB, one per 10 s): ${samples.join(" ")}`);
      stopped = true;
      const stderr = await run.stop();
      const summary = stderr.trim().split("\n").at(-1) ?? "";
      const shown = Number(summary.match(/^([\d,]+) events shown/)?.[1]?.replaceAll(",", "") ?? 0);
      console.log(`    ${summary} (${Math.round(shown / (SOAK_S + 5))} a second)`);
    } finally {
      if (!stopped) await run.stop();
    }
    await monitorSoak(net);
  } finally {
    await net.destroy();
  }
}

/** --monitor --metrics for SOAK_S: drops to ever new ports, a storm in the middle. */
async function monitorSoak(net: VethPair): Promise<void> {
  const run = await startToFile(
    ["--monitor", "--metrics", "127.0.0.1:0", "-d", net.v4.b, "-p", "udp"],
    "/dev/null",
    { runtime: ownRuntime },
  );
  try {
    const url = run.stderr().match(/serving (http:\/\/\S+\/metrics)/)?.[1];
    if (!url) throw new Error(`no --metrics address: ${run.stderr()}`);
    const series = async () =>
      (await (await fetch(url)).text()).split("\n").filter((l) => l && !l.startsWith("#")).length;
    const flow = sender(net, SOAK_S + 5, RATE / 10, 60000);
    await sleep(5000);
    const start = rss(run.child.pid), startSeries = await series();
    const samples: number[] = [];
    for (let t = 0; t < SOAK_S; t += 10) {
      if (t === Math.floor(SOAK_S / 2 / 10) * 10) sender(net, 30, RATE * 10);
      await sleep(10_000);
      samples.push(rss(run.child.pid).totalMiB);
    }
    const end = rss(run.child.pid), endSeries = await series();
    await flow.status;
    console.log(`  soak, --monitor --metrics at ${RATE / 10} drops/s to new ports, a ${RATE * 10}/s storm for 30 s:`);
    console.log(`    start ${show(start)}, ${startSeries} series`);
    console.log(`    end   ${show(end)}, ${endSeries} series`);
    console.log(`    min ${Math.min(...samples)} MiB, max ${Math.max(...samples)} MiB over ${samples.length} samples`);
    console.log(`    ${flatness(samples)}`);
    console.log(`    every sample (MiB, one per 10 s): ${samples.join(" ")}`);
  } finally {
    const stderr = await run.stop();
    console.log(`    ${stderr.trim().split("\n").slice(-2).join("; ")}`);
  }
}
