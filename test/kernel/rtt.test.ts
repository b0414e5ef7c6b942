/**
 * --rtt, --rtt-detail and the RTT thresholds on the running kernel: TCP
 * connections between two namespaces over veth, their RTT samples counted in
 * the kernel per connection. A threshold's effect is checked against a run
 * without it watching the same traffic at the same time: what one shows and
 * the other does not is the threshold's doing, not a matter of timing.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { must, removeStaleNamespaces, type VethPair, withNet } from "../helpers/netns.ts";
import { NettraceRun, runNettrace, type RunResult } from "../helpers/nettrace_process.ts";
import { netemMissing } from "../helpers/netem.ts";
import { FlowProcess } from "../helpers/tcp_flow_process.ts";
import { parseJsonLines, schemaProblem } from "../helpers/json_schema.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";

await removeStaleNamespaces();
const netemWhyNot = await netemMissing();

/** A client in a sends `chunks` of 1000 bytes (1 ms apart) to a drain in b on addr:port; both end. */
async function transfer(net: VethPair, port: number, chunks: number, addr = net.v4.b): Promise<void> {
  const server = new FlowProcess(net.b, ["drain", addr, String(port)]);
  let client: FlowProcess | undefined;
  try {
    await server.ready("listening");
    client = new FlowProcess(net.a, ["send", addr, String(port), String(chunks), "1000"]);
    await client.ready("connected");
    await client.done();
    await server.done();
  } finally {
    await client?.stop();
    await server.stop();
  }
}

/** A connection's histogram in --rtt's text: its head line's numbers and its buckets. */
interface TextHistogram {
  samples: number;
  min: number;
  avg: number;
  max: number;
  /** the smoothed RTT as of the last sample */
  srtt: number;
  buckets: Array<{ from: number; count: number }>;
}

function histogramOf(text: string, from: string, to: string): TextHistogram | undefined {
  const lines = text.split("\n");
  const head = lines.findIndex((l) => l.startsWith(`TCP ${from}`) && l.includes(` -> ${to}: `));
  if (head < 0) return undefined;
  const m = lines[head].match(/: (\d+) samples, min (\d+), avg (\d+), max (\d+); srtt (\d+), min_rtt \d+$/);
  assert(m, lines[head]);
  const buckets = [];
  for (const l of lines.slice(head + 1)) {
    const b = l.match(/^ +\[(\d+), (?:\d+|\.\.\.)\) +(\d+) \|/);
    if (!b) break;
    buckets.push({ from: Number(b[1]), count: Number(b[2]) });
  }
  return {
    samples: Number(m[1]),
    min: Number(m[2]),
    avg: Number(m[3]),
    max: Number(m[4]),
    srtt: Number(m[5]),
    buckets,
  };
}

function clientHistogram(
  r: RunResult,
  net: VethPair,
  port: number,
  [from, to] = [net.v4.a, net.v4.b],
): TextHistogram | undefined {
  return histogramOf(r.stdout, `${from}:`, `${to}:${port}`);
}

kernelTest(
  "rtt: each connection's RTT samples as a histogram, counted in the kernel; another port left out",
  async () => {
    await withNet("rtt", async (net) => {
      const port = 7461, other = 7462;
      const run = await NettraceRun.start(["--rtt", "-P", String(port)], 60000);
      try {
        await transfer(net, other, 20);
        // two connections one after the other: the second socket may reuse the first one's memory, and is its own
        await transfer(net, port, 40);
        await transfer(net, port, 40);
        const r = await run.stop();
        assertEquals(r.code, 0, r.stderr);
        // tcp:tcp_probe where its record has the socket, tcp_rate_gen where functions can be traced
        assertMatch(r.stderr, /^tracing [12] points \(/m);
        assertMatch(r.stdout, /^RTT per TCP connection, in µs: \d+ samples, [2-4] connections\n/);
        const clients = r.stdout.split("\n").filter((l) =>
          l.startsWith(`TCP ${net.v4.a}:`) && l.includes(`:${port}: `)
        );
        assertEquals(clients.length, 2, `a histogram for each client connection:\n${r.stdout}`);
        const h = clientHistogram(r, net, port);
        assert(h, `no histogram of the client's connection:\n${r.stdout}`);
        // 40 segments of data, each acknowledged (delayed ACKs may cover two): at least 10 new samples
        assert(h.samples >= 10, `${h.samples} samples:\n${r.stdout}`);
        assertEquals(
          h.buckets.reduce((n, b) => n + b.count, 0),
          h.samples,
          `the buckets hold every sample:\n${r.stdout}`,
        );
        assert(h.min <= h.avg && h.avg <= h.max && h.min > 0, `min ${h.min} avg ${h.avg} max ${h.max}`);
        assert(h.buckets[0].from <= h.min && h.min < 2 * h.buckets[0].from, `the first bucket holds the minimum`);
        assert(!r.stdout.includes(`:${other}`), `port ${other} is filtered out:\n${r.stdout}`);
        assertMatch(r.stderr, /end trace\.\.\.\n\d+ RTT samples counted on [2-4] connections/);
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft("--rtt");
  },
);

kernelTest(
  "rtt: --filter-srtt and --filter-minrtt above every sample leave nothing where a run without shows it",
  async () => {
    await withNet("rttfilter", async (net) => {
      const port = 7463;
      const runs = [
        await NettraceRun.start(["--rtt", "-P", String(port)], 60000),
        await NettraceRun.start(["--rtt", "-P", String(port), "--filter-srtt", "1000"], 60000),
        await NettraceRun.start(["--rtt", "-P", String(port), "--filter-minrtt", "1000"], 60000),
        await NettraceRun.start(["--rtt", "-P", String(port), "--filter-srtt", "0"], 60000),
      ];
      try {
        await transfer(net, port, 20);
        const results = [];
        for (const run of runs) results.push(await run.stop());
        const [unfiltered, bySrtt, byMinRtt, byZero] = results;
        const h = clientHistogram(unfiltered, net, port);
        assert(h && h.samples > 0, `the unfiltered run saw samples:\n${unfiltered.stdout}`);
        // veth in one host: every RTT is far below a second
        for (const [r, what] of [[bySrtt, "--filter-srtt 1000"], [byMinRtt, "--filter-minrtt 1000"]] as const) {
          assertMatch(
            r.stdout,
            /^RTT per TCP connection, in µs: 0 samples, 0 connections\n\n$/,
            `${what}:\n${r.stdout}`,
          );
        }
        assert(clientHistogram(byZero, net, port), `--filter-srtt 0 keeps everything:\n${byZero.stdout}`);
      } finally {
        for (const run of runs) await run.stop();
      }
    });
  },
);

kernelTest(
  "rtt: --filter-srtt keeps a connection delayed 100 ms by netem and hides a fast one beside it",
  async () => {
    await withNet("rttnetem", async (net) => {
      const slow = 7467, fast = 7468;
      // a second veth pair whose b end delays what it sends by 100 ms: the slow connection goes over it. (The fast
      // one's samples are not all small: a delayed ACK makes one of 40 ms or more, more in an emulated guest; its
      // smoothed RTT stays well under 60 ms.)
      const pair: [string, string] = ["10.233.0.1", "10.233.0.2"];
      await must(["ip", "-n", net.a, "link", "add", "veth1", "type", "veth", "peer", "name", "veth1", "netns", net.b]);
      for (const [ns, addr] of [[net.a, pair[0]], [net.b, pair[1]]]) {
        await must(["ip", "-n", ns, "addr", "add", `${addr}/24`, "dev", "veth1"]);
        await must(["ip", "-n", ns, "link", "set", "veth1", "up"]);
      }
      const netem = ["tc", "qdisc", "add", "dev", "veth1", "root", "netem", "delay", "100ms"];
      await must(["ip", "netns", "exec", net.b, ...netem]);
      const all = await NettraceRun.start(["--rtt", "-p", "tcp"], 60000);
      const filtered = await NettraceRun.start(["--rtt", "-p", "tcp", "--filter-srtt", "60"], 60000);
      try {
        await transfer(net, fast, 10);
        await transfer(net, slow, 10, pair[1]);
        const [a, f] = [await all.stop(), await filtered.stop()];
        const slowAll = clientHistogram(a, net, slow, pair), fastAll = clientHistogram(a, net, fast);
        assert(slowAll && fastAll, `both connections without the filter:\n${a.stdout}`);
        assert(slowAll.min >= 100_000, `the delayed connection's RTT: ${slowAll.min} µs`);
        assert(fastAll.srtt < 60_000, `the fast connection's smoothed RTT: ${fastAll.srtt} µs\n${a.stdout}`);
        assert(clientHistogram(f, net, slow, pair), `--filter-srtt 60 keeps the delayed connection:\n${f.stdout}`);
        assertEquals(clientHistogram(f, net, fast), undefined, `--filter-srtt 60 hides the fast one:\n${f.stdout}`);
      } finally {
        await all.stop();
        await filtered.stop();
      }
    });
  },
  netemWhyNot,
);

kernelTest(
  "rtt: bad input (an interval of 0, --rtt with --drop, an unknown -t group) is one line, exit 2",
  async () => {
    for (
      const [args, want] of [
        [["--rtt", "--interval", "0"], "nettrace: --interval: 0 is out of range (1-86400)\n"],
        [["--rtt", "--drop"], "nettrace: --drop cannot be combined with --rtt: they are different modes\n"],
        [
          ["--rtt", "-t", "nosuchgroup"],
          "nettrace: -t: no group or trace point 'nosuchgroup' (nettrace -t ? lists them)\n",
        ],
      ] as const
    ) {
      const r = await runNettrace([...args]);
      assertEquals([r.code, r.stderr], [2, want], args.join(" "));
    }
    await assertNothingLeft("--rtt bad input");
  },
);

kernelTest(
  "rtt: --rtt-detail prints each new sample as a line, then the histograms; --json follows the schema",
  async () => {
    await withNet("rttdetail", async (net) => {
      const port = 7464;
      const text = await NettraceRun.start(["--rtt-detail", "-P", String(port)], 60000);
      const json = await NettraceRun.start(["--rtt-detail", "--json", "-P", String(port)], 60000);
      try {
        await transfer(net, port, 20);
        const [t, j] = [await text.stop(), await json.stop()];
        const a = `${net.v4.a.replaceAll(".", "\\.")}:\\d+`, b = `${net.v4.b.replaceAll(".", "\\.")}:${port}`;
        const samples = t.stdout.split("\n").filter((l) =>
          new RegExp(`^\\[[\\d.]+\\] \\[tcp_probe_sock +\\] TCP: ${a} -> ${b} ESTABLISHED .* rtt:[\\d.]+m?s`).test(l)
        );
        const h = clientHistogram(t, net, port);
        assert(h, `no histogram:\n${t.stdout}`);
        // each line is a sample the histogram counted (the rate limit is off by default)
        assertEquals(samples.length, h.samples, `a line per sample:\n${t.stdout}`);
        const records = parseJsonLines(j.stdout);
        for (const rec of records) assertEquals(schemaProblem(rec), undefined, JSON.stringify(rec));
        const events = records.filter((x) => x.type === "event" && x.kind === "socket" && x.dport === port);
        assert(events.length > 0 && events.every((e) => typeof e.rtt_us === "number" && e.rtt_us > 0), j.stdout);
        const table = records.find((x) => x.type === "rtt");
        assert(table && table.final === true, j.stdout);
        const conns = table.connections as Array<Record<string, unknown>>;
        const mine = conns.find((c) => c.saddr === net.v4.a && c.dport === port);
        assert(mine, JSON.stringify(table));
        assertEquals(mine.samples, events.filter((e) => e.saddr === net.v4.a).length, "a JSON event per sample");
      } finally {
        await text.stop();
        await json.stop();
      }
    });
  },
);

kernelTest("rtt: --interval prints the histograms while it runs, not only at exit", async () => {
  await withNet("rttinterval", async (net) => {
    const port = 7465;
    const run = await NettraceRun.start(["--rtt", "--interval", "1", "-P", String(port)], 60000);
    try {
      await transfer(net, port, 20);
      const shown = await run.waitFor(() => /\(after [\d.]+ s\): [1-9]\d* samples/.test(run.stdout), 10000);
      const r = await run.stop();
      assert(shown, `no interval table with samples:\n${r.stdout}`);
      assertMatch(
        r.stdout,
        /\nRTT per TCP connection, in µs: [1-9]\d* samples, \d+ connections?\n/,
        "then the final one",
      );
    } finally {
      await run.stop();
    }
  });
});

kernelTest(
  "sock: --tcp-rtt and --tcp-srtt above every RTT leave nothing where --sock alone shows the connection",
  async () => {
    await withNet("socktcprtt", async (net) => {
      const port = 7466;
      const runs = [
        await NettraceRun.start(["--sock", "-P", String(port)], 60000),
        await NettraceRun.start(["--sock", "-P", String(port), "--tcp-rtt", "1000"], 60000),
        await NettraceRun.start(["--sock", "-P", String(port), "--tcp-srtt", "1000"], 60000),
      ];
      try {
        await transfer(net, port, 5);
        const [all, byRtt, bySrtt] = [await runs[0].stop(), await runs[1].stop(), await runs[2].stop()];
        assert(
          all.stdout.split("\n").some((l) => / rtt:[\d.]+m?s/.test(l)),
          `--sock shows RTT samples:\n${all.stdout}`,
        );
        assertEquals(byRtt.stdout, "", `--tcp-rtt 1000:\n${byRtt.stdout}`);
        assertEquals(bySrtt.stdout, "", `--tcp-srtt 1000:\n${bySrtt.stdout}`);
        assertMatch(byRtt.stderr, /end trace\.\.\.\n0 events shown/);
      } finally {
        for (const run of runs) await run.stop();
      }
    });
  },
);
