/**
 * deno task bench, part 4: what --monitor costs the sender of a drop storm.
 *
 * The sender (bench/udp_flood.c, a fixed count of datagrams to a closed port
 * between two test namespaces, pinned to one CPU) is measured untraced,
 * under --drop, --monitor and --monitor --metrics, in rounds that alternate
 * them, so that the machine's drift falls on every configuration alike; the
 * median of the rounds is compared with the untraced median. Each traced run
 * also reports what its BPF programs cost per run (the kernel's own
 * run_time_ns / run_cnt from the programs' fdinfo): the part of the cost that
 * is nettrace's programs and not the tracepoint's or the reader's. That is a
 * second, shorter flood with kernel.bpf_stats_enabled on: the statistics read
 * the clock twice a program run, which the rate's flood must not pay.
 *
 *   deno run -A bench/monitor_cost.ts [--rounds N] [--packets N] [--config "ARGS"]...
 *
 * (default 5 rounds of 200,000). Each --config adds a row: nettrace with those
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
const FLOOD_SRC = new URL("./udp_flood.c", import.meta.url).pathname;
const WORK = new URL("../.bench/", import.meta.url).pathname;
const FLOOD = `${WORK}udp_flood`;
/** The sender's CPU; nettrace may run on any. */
const SENDER_CPU = "1";

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

async function flood(net: VethPair, packets = PACKETS): Promise<number> {
  const r = await net.exec(net.a, ["taskset", "-c", SENDER_CPU, FLOOD, net.v4.b, "9", String(packets)]);
  if (r.code !== 0) throw new Error(`udp_flood failed: ${r.stderr}`);
  return Number(r.stdout.trim()) / Number(r.stderr.trim());
}

interface Sample {
  rate: number;
  /** ns per program run, and runs per datagram */
  nsPerRun?: number;
  runsPerPacket?: number;
}

async function sample(net: VethPair, args: string[] | undefined): Promise<Sample> {
  if (!args) return { rate: await flood(net) };
  const build: NettraceBuild = args[0].startsWith("@") ? { script: args[0].slice(1) } : {};
  if (build.script) args = args.slice(1);
  const run = await startToFile([...args, "-d", net.v4.b, "-p", "udp"], "/dev/null", build);
  try {
    const rate = await flood(net);
    Deno.writeTextFileSync(STATS_PATH, "1");
    const before = programStats(run.child.pid);
    await flood(net, STATS_PACKETS);
    const after = programStats(run.child.pid);
    Deno.writeTextFileSync(STATS_PATH, "0");
    const runs = after.runs - before.runs;
    return { rate, nsPerRun: runs ? (after.ns - before.ns) / runs : undefined, runsPerPacket: runs / STATS_PACKETS };
  } finally {
    await run.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (import.meta.main) {
  await removeStaleNamespaces();
  await Deno.mkdir(WORK, { recursive: true });
  const cc = await new Deno.Command("clang", { args: ["-O2", "-o", FLOOD, FLOOD_SRC] }).output();
  if (!cc.success) throw new Error(`clang udp_flood.c failed: ${new TextDecoder().decode(cc.stderr)}`);
  const statsWas = Deno.readTextFileSync(STATS_PATH).trim();
  Deno.writeTextFileSync(STATS_PATH, "0");
  const net = await VethPair.create("cost");
  const samples = new Map<string, Sample[]>(CONFIGS.map(([name]) => [name, []]));
  try {
    await flood(net); // warm: the first flood of a namespace pays its set-up
    for (let r = 0; r < ROUNDS; r++) {
      // each round in another order: no configuration always follows the same one
      const order = CONFIGS.map((_, i) => CONFIGS[(i + r) % CONFIGS.length]);
      for (const [name, args] of order) samples.get(name)!.push(await sample(net, args));
    }
  } finally {
    await net.destroy();
    Deno.writeTextFileSync(STATS_PATH, statsWas);
  }
  const base = median(samples.get("untraced")!.map((s) => s.rate));
  console.log(
    `\nwhat tracing costs the sender of a drop storm (${ROUNDS} rounds of ${PACKETS} datagrams to a closed port, ` +
      `sender on CPU ${SENDER_CPU}, kernel ${Deno.osRelease()})\n`,
  );
  for (const [name, list] of samples) {
    const rates = list.map((s) => s.rate);
    const m = median(rates);
    const ns = list.map((s) => s.nsPerRun).filter((x): x is number => x !== undefined);
    const runs = list.map((s) => s.runsPerPacket).filter((x): x is number => x !== undefined);
    console.log(
      `  ${name.padEnd(36)} median ${Math.round(m)} pkt/s (${(m / base * 100).toFixed(1)}% of untraced), ` +
        `rounds ${rates.map((x) => Math.round(x / 1000)).join(" ")}k` +
        (ns.length ? `; programs ${Math.round(median(ns))} ns a run, ${median(runs).toFixed(2)} runs a datagram` : ""),
    );
  }
  console.log();
}
