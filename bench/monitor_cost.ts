/**
 * deno task bench, part 4: what --monitor costs the sender of a drop storm.
 *
 * The sender (bench/udp_flood.c, a fixed count of datagrams to a closed port
 * between two test namespaces, pinned to one CPU; nettrace pinned to the
 * other, its own CPU time reported beside) is measured untraced,
 * under --drop, --monitor and --monitor --metrics, in rounds that alternate
 * them, so that the machine's drift falls on every configuration alike. The
 * machine's speed also jitters from one second to the next (±4% between
 * floods of a second here, one in twenty 15% slower: the host's neighbours):
 * and drifts over tens of seconds (a round's untraced rate 205k-229k). So a
 * configuration's rate in a round is the median of several short floods
 * while it is attached, and it is compared with the untraced rate measured
 * just before and just after it (every traced sample is between two
 * untraced ones): the row's cost is the median of those ratios. Each traced run
 * also reports what its BPF programs cost per run (the kernel's own
 * run_time_ns / run_cnt from the programs' fdinfo): the part of the cost that
 * is nettrace's programs and not the tracepoint's or the reader's. That is a
 * second, shorter flood with kernel.bpf_stats_enabled on: the statistics read
 * the clock twice a program run, which the rate's flood must not pay.
 *
 *   deno run -A bench/monitor_cost.ts [--rounds N] [--floods N] [--packets N] [--config "ARGS"]...
 *
 * (default 5 rounds of 7 floods of 200,000 datagrams). Each --config adds a row: nettrace with those
 * arguments (e.g. "--drop --attach-method tp_btf"); with any, they replace
 * the default rows but the untraced one. A config starting with a bundle's
 * path (@/path/nettrace.js --drop) runs that build instead of this
 * checkout's: a change measured side by side with what it replaces.
 */
import { removeStaleNamespaces, VethPair } from "../test/helpers/netns.ts";
import { type NettraceBuild, startToFile } from "./nettrace_to_file.ts";

const arg = (name: string, fallback: number) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
};
const ROUNDS = arg("--rounds", 5);
const PACKETS = arg("--packets", 200_000);
const FLOODS = arg("--floods", 7);
const FLOOD_SRC = new URL("./udp_flood.c", import.meta.url).pathname;
const WORK = new URL("../.bench/", import.meta.url).pathname;
const FLOOD = `${WORK}udp_flood`;
/** The sender's CPU; nettrace runs on the others (sharing the sender's, its own work would count as the programs'). */
const SENDER_CPU = "1";
const NETTRACE_CPUS = "0";

const asked = Deno.args.flatMap((a, i) => Deno.args[i - 1] === "--config" ? [a] : []);
const CONFIGS: Array<[string, string[] | undefined]> = asked.length
  ? [["untraced", undefined], ...asked.map((a): [string, string[]] => [a, a.trim().split(/\s+/)])]
  : [
    ["untraced", undefined],
    ["--drop", ["--drop"]],
    ["--monitor", ["--monitor"]],
    ["--monitor --metrics", ["--monitor", "--metrics", "127.0.0.1:0"]],
  ];

/** Run time and count of every BPF program a process holds (its fdinfo). */
function programStats(pid: number): { ns: number; runs: number } {
  let ns = 0, runs = 0;
  for (const fd of Deno.readDirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${fd.name}`);
    } catch {
      continue;
    }
    if (!info.includes("prog_tag:")) continue;
    ns += Number(info.match(/^run_time_ns:\s+(\d+)/m)?.[1] ?? 0);
    runs += Number(info.match(/^run_cnt:\s+(\d+)/m)?.[1] ?? 0);
  }
  return { ns, runs };
}

const STATS_PATH = "/proc/sys/kernel/bpf_stats_enabled";
/** Datagrams of the flood that measures the programs' own cost. */
const STATS_PACKETS = Math.max(1, Math.round(PACKETS / 4));

/** A process's user and system CPU time, in seconds (/proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).replace(/^.*\) /, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The sender's rate: the median of FLOODS floods. */
async function floods(net: VethPair): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < FLOODS; i++) rates.push(await flood(net));
  return median(rates);
}

async function flood(net: VethPair, packets = PACKETS): Promise<number> {
  const r = await net.exec(net.a, ["taskset", "-c", SENDER_CPU, FLOOD, net.v4.b, "9", String(packets)]);
  if (r.code !== 0) throw new Error(`udp_flood failed: ${r.stderr}`);
  return Number(r.stdout.trim()) / Number(r.stderr.trim());
}

interface Sample {
  rate: number;
  /** the rate over the mean of the untraced rates before and after it */
  relative?: number;
  /** nettrace's own CPU time (user and system) per second of the floods */
  cpu?: number;
  /** ns per program run, and runs per datagram */
  nsPerRun?: number;
  runsPerPacket?: number;
}

async function sample(net: VethPair, args: string[] | undefined): Promise<Sample> {
  if (!args) return { rate: await floods(net) };
  const build: NettraceBuild = args[0].startsWith("@") ? { script: args[0].slice(1) } : {};
  if (build.script) args = args.slice(1);
  const run = await startToFile([...args, "-d", net.v4.b, "-p", "udp"], "/dev/null", build, NETTRACE_CPUS);
  try {
    const cpu0 = cpuSeconds(run.child.pid), t0 = performance.now();
    const rate = await floods(net);
    const cpu = (cpuSeconds(run.child.pid) - cpu0) / ((performance.now() - t0) / 1000);
    Deno.writeTextFileSync(STATS_PATH, "1");
    const before = programStats(run.child.pid);
    await flood(net, STATS_PACKETS);
    const after = programStats(run.child.pid);
    Deno.writeTextFileSync(STATS_PATH, "0");
    const runs = after.runs - before.runs;
    return {
      rate,
      cpu,
      nsPerRun: runs ? (after.ns - before.ns) / runs : undefined,
      runsPerPacket: runs / STATS_PACKETS,
    };
  } finally {
    await run.stop();
  }
}

if (import.meta.main) {
  await removeStaleNamespaces();
  await Deno.mkdir(WORK, { recursive: true });
  const cc = await new Deno.Command("clang", { args: ["-O2", "-o", FLOOD, FLOOD_SRC] }).output();
  if (!cc.success) throw new Error(`clang udp_flood.c failed: ${new TextDecoder().decode(cc.stderr)}`);
  const statsWas = Deno.readTextFileSync(STATS_PATH).trim();
  Deno.writeTextFileSync(STATS_PATH, "0");
  // Ctrl-C: the statistics as they were (they slow every BPF program of the machine), and out
  Deno.addSignalListener("SIGINT", () => {
    Deno.writeTextFileSync(STATS_PATH, statsWas);
    Deno.exit(130);
  });
  const net = await VethPair.create("cost");
  const samples = new Map<string, Sample[]>(CONFIGS.map(([name]) => [name, []]));
  const untraced = samples.get("untraced")!;
  const traced = CONFIGS.filter(([, args]) => args);
  try {
    await flood(net); // warm: the first flood of a namespace pays its set-up
    for (let r = 0; r < ROUNDS; r++) {
      // each round in another order: no configuration always follows the same one; each between two untraced samples
      const order = traced.map((_, i) => traced[(i + r) % traced.length]);
      let before = await sample(net, undefined);
      untraced.push(before);
      for (const [name, args] of order) {
        const s = await sample(net, args);
        const after = await sample(net, undefined);
        untraced.push(after);
        samples.get(name)!.push({ ...s, relative: s.rate / ((before.rate + after.rate) / 2) });
        before = after;
      }
    }
  } finally {
    await net.destroy();
    Deno.writeTextFileSync(STATS_PATH, statsWas);
  }
  const base = median(samples.get("untraced")!.map((s) => s.rate));
  console.log(
    `\nwhat tracing costs the sender of a drop storm (${ROUNDS} rounds, each the median of ${FLOODS} floods of ` +
      `${PACKETS} datagrams to a closed port, ` +
      `sender on CPU ${SENDER_CPU}, kernel ${Deno.osRelease()})\n`,
  );
  for (const [name, list] of samples) {
    const rates = list.map((s) => s.rate);
    const m = median(rates);
    const relative = list.map((s) => s.relative).filter((x): x is number => x !== undefined);
    const cost = relative.length
      ? `${(median(relative) * 100).toFixed(1)}% of the untraced rate beside it (rounds ${
        relative.map((x) => (x * 100).toFixed(0)).join(" ")
      }%), `
      : "";
    const ns = list.map((s) => s.nsPerRun).filter((x): x is number => x !== undefined);
    const runs = list.map((s) => s.runsPerPacket).filter((x): x is number => x !== undefined);
    const cpu = list.map((s) => s.cpu).filter((x): x is number => x !== undefined);
    console.log(
      `  ${name.padEnd(36)} ${cost}median ${Math.round(m)} pkt/s (${(m / base * 100).toFixed(1)}% of untraced's), ` +
        `rounds ${rates.map((x) => Math.round(x / 1000)).join(" ")}k` +
        (ns.length ? `; programs ${Math.round(median(ns))} ns a run, ${median(runs).toFixed(2)} runs a datagram` : "") +
        (cpu.length ? `; nettrace itself ${(median(cpu) * 100).toFixed(1)}% of a CPU (CPU ${NETTRACE_CPUS})` : ""),
    );
  }
  console.log();
}
