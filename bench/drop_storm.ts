/**
 * deno task bench: nettrace --drop under a drop storm.
 *
 * A UDP flood to a closed port inside test namespaces (fixed packet count,
 * sent with sendmmsg by bench/udp_flood.c, built with clang, pinned to CPU 1);
 * first untraced, then under --drop with its storm limit (and under
 * --monitor, the same drops judged by the rules), then with
 * --no-storm-limit for each transport and reader (the ring buffer read by
 * mmap or by libbpf's callback, a perf buffer read the same two ways):
 * packets sent and the sender's rate, kernel drops (the namespace's own Udp
 * NoPorts counter), events shown, summarized and lost, events/s, time from
 * start to "begin trace...", peak RSS. Then the TypeScript event path alone
 * (decode + format of recorded records).
 *
 *   deno task bench [-- --packets N]
 *   deno run -A bench/drop_storm.ts [--packets N] [--only REGEX] [--against BUNDLE]
 *
 * --only REGEX: only the rows whose label matches. --against BUNDLE: each row
 * also with another build of nettrace (scripts/bundle.sh of another commit),
 * right after this checkout's, so a change to the event path is measured
 * side by side in one run.
 */
import { removeStaleNamespaces, VethPair } from "../test/helpers/netns.ts";
import { startToFile } from "./nettrace_to_file.ts";
import { decodeEvent } from "../src/event/decode.ts";
import { EVENT, PACKET } from "../src/event/layout.ts";
import { dropJson } from "../src/output/json_records.ts";
import { formatDropLine } from "../src/output/drop_line.ts";
import { TimestampFormatter } from "../src/output/timestamp.ts";
import { reasonsFromEnums } from "../src/event/drop_reasons.ts";

const argIdx = Deno.args.indexOf("--packets");
const PACKETS = argIdx >= 0 ? Number(Deno.args[argIdx + 1]) : 200_000;
const onlyIdx = Deno.args.indexOf("--only");
const ONLY = onlyIdx >= 0 ? new RegExp(Deno.args[onlyIdx + 1]) : undefined;
const againstIdx = Deno.args.indexOf("--against");
const AGAINST = againstIdx >= 0 ? Deno.args[againstIdx + 1] : undefined;
const FLOOD_SRC = new URL("./udp_flood.c", import.meta.url).pathname;
const WORK = new URL("../.bench/", import.meta.url).pathname;
const FLOOD = `${WORK}udp_flood`;

async function buildFlood(): Promise<void> {
  await Deno.mkdir(WORK, { recursive: true });
  const r = await new Deno.Command("clang", { args: ["-O2", "-o", FLOOD, FLOOD_SRC] }).output();
  if (!r.success) throw new Error(`clang udp_flood.c failed: ${new TextDecoder().decode(r.stderr)}`);
}

/** Lines of a drop in the output: all of them in text; with --json, the "drop" objects (not losses, not the summary). */
function countLines(path: string, json = false): { lines: number; mtimeMs: number } {
  const data = Deno.readFileSync(path);
  let n = 0;
  if (json) {
    n = new TextDecoder().decode(data).split("\n").filter((l) => l.startsWith('{"type":"drop"')).length;
  } else {
    for (let i = 0; i < data.length; i++) if (data[i] === 10) n++;
  }
  return { lines: n, mtimeMs: Deno.statSync(path).mtime?.getTime() ?? 0 };
}

interface Row {
  reader: string;
  sent: number;
  /** the sender's packets per second */
  rate: number;
  kernelDrops: number;
  printed: number;
  summarized: number;
  lost: number;
  eventsPerSec: number;
  startMs: number;
  peakRssMiB: number;
}

function vmHwmKiB(pid: number): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The transports and readers measured: (label, nettrace's arguments). */
const NO_LIMIT = "--no-storm-limit";
const PAUSED = "ringbuf mmap, no limit, read after the flood";
const READERS: Array<[string, string[]]> = [
  ["--drop (storm limit 100/s)", []],
  // the default is tp_btf where the kernel's BTF types kfree_skb: the classic tracepoint beside it
  ["--drop -m tracepoint (storm limit)", ["--attach-method", "tracepoint"]],
  ["--drop --json (storm limit)", ["--json"]],
  // the monitor: the same drops through the same storm limit, judged by the rules, with its socket points attached
  ["--monitor (storm limit 100/s)", ["--monitor"]],
  ["--monitor --metrics (storm limit 100/s)", ["--monitor", "--metrics", "127.0.0.1:0"]],
  ["ringbuf mmap, no limit", [NO_LIMIT, "--transport", "ringbuf", "--ring-reader", "mmap"]],
  // the reader's own rate: nettrace stopped (SIGSTOP) while the flood fills a 64 MiB ring, then let go
  [PAUSED, [NO_LIMIT, "--transport", "ringbuf", "--ring-reader", "mmap", "--ring-size", "65536"]],
  ["ringbuf callback, no limit", [NO_LIMIT, "--transport", "ringbuf", "--ring-reader", "callback"]],
  ["perf mmap, no limit", [NO_LIMIT, "--transport", "perf", "--ring-reader", "mmap"]],
  ["perf callback, no limit", [NO_LIMIT, "--transport", "perf", "--ring-reader", "callback"]],
  ["ringbuf mmap, --json, no limit", [NO_LIMIT, "--transport", "ringbuf", "--ring-reader", "mmap", "--json"]],
  ["ringbuf mmap, -w, no limit", [
    NO_LIMIT,
    "--transport",
    "ringbuf",
    "--ring-reader",
    "mmap",
    "-w",
    `${WORK}storm.pcapng`,
  ]],
];

/**
 * The sender's CPU (its datagrams are dropped in its own softirq, on the same CPU): nettrace, not pinned, has the
 * other one, as on a host where the storm comes from one busy CPU. Unpinned, the two met on one CPU in some runs.
 */
const SENDER_CPU = "1";

/** Floods the closed port: packets sent and the sender's rate. */
async function flood(net: VethPair): Promise<{ sent: number; rate: number }> {
  const r = await net.exec(net.a, ["taskset", "-c", SENDER_CPU, FLOOD, net.v4.b, "9", String(PACKETS)]);
  if (r.code !== 0) throw new Error(`udp_flood failed: ${r.stderr}`);
  const sent = Number(r.stdout.trim());
  return { sent, rate: Math.round(sent / Number(r.stderr.trim())) };
}

/** The sender alone: no nettrace. */
async function untraced(net: VethPair): Promise<Row> {
  const before = await net.snmpCounter(net.b, "Udp", "NoPorts");
  const { sent, rate } = await flood(net);
  const after = await net.snmpCounter(net.b, "Udp", "NoPorts");
  return {
    reader: "untraced",
    sent,
    rate,
    kernelDrops: after - before,
    printed: 0,
    summarized: 0,
    lost: 0,
    eventsPerSec: 0,
    startMs: 0,
    peakRssMiB: 0,
  };
}

async function storm(net: VethPair, reader: string, readerArgs: string[], script?: string): Promise<Row> {
  const pcap = readerArgs.indexOf("-w");
  if (pcap >= 0) await Deno.remove(readerArgs[pcap + 1]).catch(() => {});
  const before = await net.snmpCounter(net.b, "Udp", "NoPorts");
  const outFile = `${WORK}${reader.replace(/[^\w]+/g, "-")}.out`;
  const mode = readerArgs[0] === "--monitor" ? [] : ["--drop"];
  const run = await startToFile([...mode, "-d", net.v4.b, "-p", "udp", ...readerArgs], outFile, { script });

  // paused: the events wait in the ring and the reader is timed alone, from SIGCONT to its last line
  const paused = reader.startsWith(PAUSED);
  if (paused) Deno.kill(run.child.pid, "SIGSTOP");
  let floodStart = Date.now();
  const { sent, rate } = await flood(net);
  if (paused) {
    floodStart = Date.now();
    Deno.kill(run.child.pid, "SIGCONT");
  }
  let last = -1, cur = countLines(outFile);
  while (cur.lines !== last) {
    last = cur.lines;
    await new Promise((r) => setTimeout(r, 300));
    cur = countLines(outFile);
  }
  const peakRssMiB = vmHwmKiB(run.child.pid) / 1024;
  const stderr = await run.stop();
  const after = await net.snmpCounter(net.b, "Udp", "NoPorts");
  const m = stderr.match(/end trace\.\.\.\n(?:drops: )?(\d+) events shown, (\d+) summarized, (\d+) lost/);
  if (!m) throw new Error(`no summary from nettrace: ${stderr}`);
  const printed = Number(m[1]);
  return {
    reader,
    sent,
    rate,
    kernelDrops: after - before,
    printed,
    summarized: Number(m[2]),
    lost: Number(m[3]),
    eventsPerSec: Math.round(printed / Math.max((cur.mtimeMs - floodStart) / 1000, 0.001)),
    startMs: Math.round(run.startMs),
    peakRssMiB: Math.round(peakRssMiB * 10) / 10,
  };
}

/** The TypeScript path alone: decode + format (text or JSON) of recorded UDP drop records. */
function eventPathRate(json: boolean): number {
  const n = 200_000;
  const buf = new ArrayBuffer(EVENT.size);
  const v = new DataView(buf), b = new Uint8Array(buf);
  v.setUint32(EVENT.reason, 3, true);
  v.setBigUint64(EVENT.location, 0xffffffff81a00091n, true);
  v.setUint16(EVENT.pkt + PACKET.l3_proto, 0x0800, true);
  v.setUint8(EVENT.pkt + PACKET.l3_len, 40);
  v.setUint8(EVENT.pkt + PACKET.l4_len, 20);
  v.setUint8(EVENT.pkt + PACKET.l4_proto, 17);
  b.set([0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 231, 0, 1, 10, 231, 0, 2], EVENT.pkt + PACKET.l3);
  b.set([0x13, 0x88, 0, 9, 0, 24, 0, 0], EVENT.pkt + PACKET.l4);
  const ctx = {
    time: new TimestampFormatter(false, 0),
    reasons: reasonsFromEnums(new Map([[3, "SKB_DROP_REASON_NO_SOCKET"]])),
    symbolize: () => "__udp4_lib_rcv+0x4bc",
    detail: false,
  };
  let bytes = 0;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    v.setUint32(EVENT.ts, i * 1000, true);
    const ev = decodeEvent(v, 0, EVENT.size);
    bytes += json ? JSON.stringify(dropJson(ev, { ...ctx, wallOffsetNs: 0 })).length : formatDropLine(ev, ctx).length;
  }
  if (bytes === 0) throw new Error("no output");
  return Math.round(n / ((performance.now() - t) / 1000));
}

if (import.meta.main) {
  await removeStaleNamespaces();
  await buildFlood();
  const net = await VethPair.create("bench");
  const rows: Row[] = [];
  try {
    rows.push(await untraced(net));
    for (const [reader, args] of READERS) {
      if (ONLY && !ONLY.test(reader)) continue;
      rows.push(await storm(net, reader, args));
      if (AGAINST) rows.push(await storm(net, `${reader} [${AGAINST.split("/").at(-1)}]`, args, AGAINST));
    }
  } finally {
    await net.destroy();
  }
  console.log(
    `\nnettrace --drop under a UDP drop storm (${PACKETS} packets to a closed port, kernel ${Deno.osRelease()})\n`,
  );
  const base = rows[0].rate;
  const head = [
    "run",
    "sent",
    "sender pkt/s",
    "% untraced",
    "kernel drops",
    "shown",
    "summarized",
    "lost",
    "events/s",
    "begin trace ms",
    "peak RSS MiB",
  ];
  const table = [
    head,
    ...rows.map((r) =>
      [
        r.reader,
        r.sent,
        r.rate,
        Math.round(r.rate / base * 100),
        r.kernelDrops,
        r.printed,
        r.summarized,
        r.lost,
        r.eventsPerSec,
        r.startMs,
        r.peakRssMiB,
      ].map(String)
    ),
  ];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log("  " + row.map((c, i) => c.padStart(widths[i])).join("  "));
  console.log(
    "\n  events/s: lines written per second from the flood's start (read after the flood: from SIGCONT) to the last line;",
  );
  console.log("  lost: events the kernel could not put in the 4 MiB buffer (the perf buffer: 4 MiB over all CPUs)");
  console.log("  because nettrace was behind");
  console.log("  summarized: repeats the kernel counted instead of sending (--storm-limit)");
  for (const r of rows.slice(1)) {
    if (r.printed + r.summarized + r.lost !== r.kernelDrops) {
      console.log(
        `  ! ${r.reader}: shown + summarized + lost (${
          r.printed + r.summarized + r.lost
        }) != kernel drops (${r.kernelDrops})`,
      );
    }
  }
  // side by side, alternating, in one run
  const text = [eventPathRate(false), eventPathRate(false)], json = [eventPathRate(true), eventPathRate(true)];
  console.log(
    `\n  TypeScript event path alone (decode + format, no kernel): text ${Math.max(...text)} events/s, ` +
      `JSON ${Math.max(...json)} events/s\n`,
  );
}
