/**
 * --monitor on the running kernel, in two namespaces over veth: abnormal
 * events only, each with its finding. A refused connection, a closed TCP
 * port and an nft drop are shown, a connection and pings that go well are
 * not; a flood to a closed port is shown up to the limit and counted; data
 * dropped until TCP times out shows the Loss state (tracepoint) or the
 * retransmission timer (functions); --tcp-rtt shows RTT samples over the
 * threshold; --json follows the schema; bad input is one line, exit 2.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { autoDropPoint, fentryHere, functionProbesHere } from "../helpers/capabilities.ts";
import { netfilterDropCause, reasonColumn } from "../helpers/drop_reason_column.ts";
import { parseJsonLines, schemaProblem } from "../helpers/json_schema.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { netemMissing } from "../helpers/netem.ts";
import { dropTcpData, must, removeStaleNamespaces, type VethPair, withNet } from "../helpers/netns.ts";
import { DENO, NettraceRun, runNettrace } from "../helpers/nettrace_process.ts";
import { pathExists } from "../helpers/path_exists.ts";
import { withFlows } from "../helpers/tcp_flow_process.ts";
import { prometheusMissing, PrometheusServer } from "../helpers/prometheus_server.ts";
import { metricSum, metricsUrl, unitCapabilities, withOnlyCapabilities } from "../helpers/metrics_endpoint.ts";

await removeStaleNamespaces();
const netemWhyNot = await netemMissing();
const FLOOD = new URL("../helpers/udp_flood.ts", import.meta.url).pathname;

/** Whether this kernel has the tracepoint CATEGORY/EVENT. */
function tracepointHere(event: string): boolean {
  return ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].some((t) => pathExists(`${t}/events/${event}/format`));
}

const esc = (s: string) => s.replaceAll(".", "\\.");

/** A connection from a to b's port that sends `chunks` of 100 bytes and closes in order. */
async function goodConnection(net: VethPair, port: number, chunks = 3): Promise<void> {
  await withFlows(async (flow) => {
    const server = flow(net.b, "drain", net.v4.b, String(port));
    await server.ready("listening");
    const client = flow(net.a, "send", net.v4.b, String(port), String(chunks), "100");
    await client.ready("connected");
    await client.done();
    await server.done();
  });
}

/** The closing lines of the two parts: drops shown, summarized, lost, not shown; socket events shown. */
function closing(stderr: string) {
  const d = stderr.match(
    /^drops: (\d+) events shown, (\d+) summarized, (\d+) lost(?:, (\d+) not shown \(INFO[^)]*\))?$/m,
  );
  const s = stderr.match(/^socket events: (\d+) shown, (\d+) held back as repeats, (\d+) events lost/m);
  assert(d && s, `no closing counts:\n${stderr}`);
  return {
    shown: Number(d[1]),
    summarized: Number(d[2]),
    lost: Number(d[3]),
    notShown: Number(d[4] ?? 0),
    socketShown: Number(s[1]),
  };
}

kernelTest(
  "monitor: a refused connection, a closed TCP port and an nft drop are shown with their findings (the drop with its table, chain and hook where fentry works); normal traffic is not",
  async () => {
    await withNet("mon", async (net) => {
      const good = 7481, closed = 7482;
      // the table and its base chain before nettrace starts (nf_tables is loaded then): the rule comes later
      await must(["ip", "netns", "exec", net.b, "nft", "-f", "-"], {
        input: "table inet mon {\n chain in {\n type filter hook input priority 0;\n }\n}\n",
      });
      const named = fentryHere();
      const run = await NettraceRun.start(["--monitor", "--addr", net.v4.b, "--metrics", "127.0.0.1:0"], 60000);
      try {
        assertMatch(run.stderr, new RegExp(`^nettrace: --monitor: drops at ${autoDropPoint}; sockets at `, "m"));
        assertMatch(
          run.stderr,
          named
            ? /^nettrace: --monitor: netfilter's drops named by table, chain and hook \(fentry\/fexit nft_do_chain/m
            : /^nettrace: --monitor: netfilter's drops not named by table and chain here: \S/m,
        );
        // what goes well: a connection that sends and closes in order, pings answered
        await goodConnection(net, good);
        await must(["ip", "netns", "exec", net.a, "ping", "-c", "2", "-i", "0.2", "-W", "2", net.v4.b]);
        // what does not: a connection to a closed port, and pings an nft rule drops
        await net.tcpConnect(net.a, net.v4.b, closed);
        await must([
          "ip",
          "netns",
          "exec",
          net.b,
          "nft",
          "add",
          "rule",
          "inet",
          "mon",
          "in",
          "icmp",
          "type",
          "echo-request",
          "drop",
        ]);
        await net.exec(net.a, ["ping", "-c", "1", "-W", "1", net.v4.b]);
        const a = esc(net.v4.a), b = esc(net.v4.b);
        const noSocket = new RegExp(
          `^\\[[\\d.]+\\] TCP: ${a}:\\d+ -> ${b}:${closed} .*flags:S, ${
            reasonColumn("NO_SOCKET")
          }tcp_v4_rcv\\+0x[0-9a-f]+ ` +
            `\\*tcp port is not listened: no socket for the packet\\*$`,
        );
        const refused = new RegExp(
          `^\\[[\\d.]+\\] \\[tcp_receive_reset *\\] TCP: ${a}:\\d+ -> ${b}:${closed} SYN_SENT .*` +
            `\\*the connection was refused: the peer answered the SYN with a reset\\*$`,
        );
        const nftDrop = new RegExp(
          `^\\[[\\d.]+\\] ICMP: ${a} -> ${b} ping request, .*${netfilterDropCause()}.*` +
            `${named ? ", nft table:mon, chain:in, ipv4 INPUT" : ""} \\*packet is dropped by netfilter`,
        );
        const all = () => [noSocket, refused, nftDrop].every((re) => run.lines.some((l) => re.test(l)));
        const seen = await run.waitFor(all, 15000);
        // the metrics count the nft drop by its place where it is named, and have no such family where it is not
        const metrics = await (await fetch(metricsUrl(run))).text();
        const nfDrops = metricSum(metrics, "nettrace_netfilter_drops_total", /table="mon",chain="in"/);
        const r = await run.stop();
        assertEquals(r.code, 0, r.stderr);
        assert(seen, `the refused connection, the closed port and the nft drop:\n${r.stdout}\n${r.stderr}`);
        if (named) {
          assert(nfDrops >= 1, `nettrace_netfilter_drops_total has no drop of table mon, chain in:\n${metrics}`);
          assertMatch(
            metrics,
            /^nettrace_netfilter_drops_total\{family="ipv4",hook="INPUT",table="mon",chain="in"\} \d+$/m,
          );
        } else {
          assertEquals(metrics.includes("nettrace_netfilter_drops_total"), false, metrics);
        }
        const lines = r.stdout.split("\n").filter((l) => l);
        // the advice follows a finding's first line, once
        const first = lines.findIndex((l) => noSocket.test(l));
        assertMatch(lines[first + 1], /^ {4}fix advice: check that the service listens/);
        assertEquals(lines.filter((l) => l.startsWith("    fix advice: check that the service listens")).length, 1);
        // the events were seen after what went well: nothing of it was shown (its events came first)
        const ofGood = lines.filter((l) => l.includes(`:${good} `) || l.includes(`:${good},`));
        assertEquals(ofGood, [], `the connection that went well was shown:\n${r.stdout}`);
        const pings = lines.filter((l) => / ICMP: /.test(l) && !nftDrop.test(l));
        assertEquals(pings, [], `pings answered were shown:\n${r.stdout}`);
        const c = closing(r.stderr);
        assert(c.shown >= 2 && c.socketShown >= 1, r.stderr);
        assertEquals(c.lost, 0, r.stderr);
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft("--monitor");
  },
);

kernelTest(
  "monitor: a scan of 1000 closed ports is one storm: shown up to the limit, the rest summarized, every drop counted",
  async () => {
    await withNet("monstorm", async (net) => {
      const run = await NettraceRun.start(
        ["--monitor", "--storm-limit", "20/s", "-d", net.v4.b, "-p", "udp", "--metrics", "127.0.0.1:0"],
        60000,
      );
      try {
        // 5000 datagrams to ports 20000-20999: a new flow each time, one drop (reason, place) for --monitor
        const count = 5000;
        const f = await net.exec(net.a, [DENO, "run", "-A", FLOOD, net.v4.b, "20000", String(count), "1000"]);
        assertEquals(f.code, 0, f.stderr);
        const repeats = new RegExp(
          `^\\[[\\d.]+\\] UDP: every flow, ${
            reasonColumn("NO_SOCKET")
          }__udp4_lib_rcv\\+0x[0-9a-f]+ \\.\\.\\. and ([\\d,]+) more like this in \\d+\\.\\d s$`,
        );
        assert(await run.waitForLine(repeats, 10000), `no storm line:\n${run.stdout.slice(-2000)}`);
        const noPorts = await net.snmpCounter(net.b, "Udp", "NoPorts");
        // the metrics count every drop, shown or summarized
        const metrics = await (await fetch(metricsUrl(run))).text();
        assertEquals(
          metricSum(metrics, "nettrace_drops_total", /reason="NO_SOCKET",location="__udp4_lib_rcv"/),
          noPorts,
        );
        const r = await run.stop();
        assertEquals(r.code, 0, r.stderr);
        const c = closing(r.stderr);
        assertEquals(c.shown + c.summarized + c.lost + c.notShown, noPorts, `every drop counted once:\n${r.stderr}`);
        assert(c.summarized > 0 && c.shown < 200, `the flood was not summarized:\n${r.stderr}`);
        const shownLines = r.stdout.split("\n").filter((l) => / UDP: .*:20\d{3} len:\d+, /.test(l));
        assertEquals(shownLines.length, c.shown);
        for (const l of shownLines) assertMatch(l, /\*UDP port is not open \(no socket for the datagram\)\*$/);
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft("--monitor storm");
  },
);

kernelTest("monitor: --json gives drops and socket events with their findings, as the schema says", async () => {
  await withNet("monjson", async (net) => {
    const closed = 7491;
    const run = await NettraceRun.start(["--monitor", "--json", "-P", String(closed)], 60000);
    try {
      await net.tcpConnect(net.a, net.v4.b, closed);
      const both = () => {
        const objs = parseJsonLines(run.stdout.split("\n").filter((l) => l.startsWith("{")).join("\n"));
        return objs.some((o) => o.type === "drop") && objs.some((o) => o.type === "event");
      };
      const seen = await run.waitFor(both, 15000);
      const r = await run.stop();
      assert(seen, `a drop and a socket event:\n${r.stdout}\n${r.stderr}`);
      const objs = parseJsonLines(r.stdout);
      for (const o of objs) assertEquals(schemaProblem(o), undefined, JSON.stringify(o));
      const drop = objs.find((o) => o.type === "drop")!;
      assertEquals(drop.finding, {
        level: "ERROR",
        message: "tcp port is not listened: no socket for the packet",
        advice:
          "check that the service listens on the destination address and port (ss -ltn), in the right network namespace",
      });
      const sock = objs.find((o) => o.type === "event")!;
      assertEquals(sock.kind, "socket");
      assertEquals(sock.point, "tcp_receive_reset");
      assertEquals((sock.finding as Record<string, unknown>).level, "WARN");
      const summary = objs.at(-1)!;
      assertEquals(summary.type, "summary");
      assertEquals(summary.shown, 2, JSON.stringify(summary));
    } finally {
      await run.stop();
    }
  });
});

kernelTest(
  "monitor: data dropped until TCP times out: the Loss state, and the retransmission timer where functions can be traced; the same with the unit's capabilities",
  async () => {
    const functions = functionProbesHere();
    const caTracepoint = tracepointHere("tcp/tcp_cong_state_set");
    assert(functions || caTracepoint, "this kernel has neither tcp:tcp_cong_state_set nor function probes");
    await withNet("monrto", async (net) => {
      const lost = 7501;
      await dropTcpData(net, "monrto", lost);
      const args = ["--monitor", "--addr", net.v4.b];
      const run = await NettraceRun.start(args, 60000);
      // beside it, as the packages' unit runs it: where perf events are refused (Debian's kernels), the Loss state
      // comes from the function behind the tracepoint, tcp_set_ca_state, its state an argument
      let unit: NettraceRun | undefined;
      try {
        unit = await NettraceRun.start(args, 60000, withOnlyCapabilities(unitCapabilities(), args));
        await withFlows(async (flow) => {
          const sink = flow(net.b, "sink", net.v4.b, String(lost));
          await sink.ready("listening");
          const client = flow(net.a, "send", net.v4.b, String(lost), "2", "1000");
          await client.ready("connected");
          const conn = `TCP: ${esc(net.v4.a)}:\\d+ -> ${esc(net.v4.b)}:${lost} `;
          const loss = new RegExp(
            `\\[tcp_cong_state_set *\\] ${conn}.*\\*TCP entered the Loss state: a retransmission timeout`,
          );
          const timer = new RegExp(
            `\\[tcp_retransmit_timer *\\] ${conn}.*\\*the TCP retransmission timer fired \\(RTO\\)\\*`,
          );
          const wanted = [...(caTracepoint ? [loss] : []), ...(functions ? [timer] : [])];
          for (const r of [run, unit!]) {
            const ok = await r.waitFor(() => wanted.every((re) => r.lines.some((l) => re.test(l))), 20000);
            assert(
              ok,
              `${wanted.join(" and ")}${r === unit ? " (the unit's capabilities)" : ""}:\n${r.stdout}\n${r.stderr}`,
            );
          }
          if (!caTracepoint) console.log("this kernel has no tcp:tcp_cong_state_set: the Loss state is not checked");
          if (!functions) console.log("this kernel traces no functions: tcp_retransmit_timer is not checked");
          // the nft drops themselves are drops too
          assert(run.lines.some((l) => new RegExp(`${conn}.*${netfilterDropCause()}`).test(l)), run.stdout);
        });
      } finally {
        await run.stop();
        await unit?.stop();
      }
    });
    await assertNothingLeft("--monitor RTO");
  },
);

kernelTest("monitor --tcp-rtt: each new RTT sample over the threshold; none with a threshold above them", async () => {
  await withNet("monrtt", async (net) => {
    const port = 7511;
    const every = await NettraceRun.start(["--monitor", "--tcp-rtt", "0", "-P", String(port)], 60000);
    const none = await NettraceRun.start(["--monitor", "--tcp-rtt", "60000", "-P", String(port)], 60000);
    try {
      await goodConnection(net, port, 5);
      // a marker after the transfer: a closed port's drop, seen by both runs once the samples are in
      await net.tcpConnect(net.a, net.v4.b, port);
      const marker = new RegExp(`:${port} .*\\*tcp port is not listened`);
      const sample = /^\[[\d.]+\] \[(tcp_probe_sock|tcp_rate_gen) +\] TCP: .* rtt:[\d.]+m?s/;
      assert(await every.waitForLine(marker, 15000) && await none.waitForLine(marker, 15000), every.stdout);
      const [e, n] = [await every.stop(), await none.stop()];
      const samples = e.stdout.split("\n").filter((l) => sample.test(l));
      assert(samples.length >= 1, `--tcp-rtt 0 shows the samples:\n${e.stdout}\n${e.stderr}`);
      assertEquals(n.stdout.split("\n").filter((l) => sample.test(l)), [], `--tcp-rtt 60000:\n${n.stdout}`);
    } finally {
      await every.stop();
      await none.stop();
    }
  });
});

kernelTest(
  "monitor --tcp-srtt: a connection delayed 100 ms by netem is shown, a fast one beside it is not",
  async () => {
    await withNet("monnetem", async (net) => {
      const slow = 7521, fast = 7522;
      const pair: [string, string] = ["10.234.0.1", "10.234.0.2"];
      await must(["ip", "-n", net.a, "link", "add", "veth1", "type", "veth", "peer", "name", "veth1", "netns", net.b]);
      for (const [ns, addr] of [[net.a, pair[0]], [net.b, pair[1]]]) {
        await must(["ip", "-n", ns, "addr", "add", `${addr}/24`, "dev", "veth1"]);
        await must(["ip", "-n", ns, "link", "set", "veth1", "up"]);
      }
      await must([
        "ip",
        "netns",
        "exec",
        net.b,
        "tc",
        "qdisc",
        "add",
        "dev",
        "veth1",
        "root",
        "netem",
        "delay",
        "100ms",
      ]);
      const run = await NettraceRun.start(["--monitor", "--tcp-srtt", "60", "-p", "tcp"], 60000);
      try {
        await goodConnection(net, fast, 10);
        await withFlows(async (flow) => {
          const server = flow(net.b, "drain", pair[1], String(slow));
          await server.ready("listening");
          const client = flow(net.a, "send", pair[1], String(slow), "10", "100");
          await client.ready("connected");
          await client.done();
          await server.done();
        });
        const slowLine = new RegExp(`TCP: ${esc(pair[0])}:\\d+ -> ${esc(pair[1])}:${slow} .* srtt:\\d+`);
        assert(await run.waitForLine(slowLine, 15000), `the delayed connection:\n${run.stdout}\n${run.stderr}`);
        const r = await run.stop();
        const fastLines = r.stdout.split("\n").filter((l) => l.includes(`:${fast} `));
        assertEquals(fastLines, [], `the fast connection is under --tcp-srtt 60:\n${r.stdout}`);
      } finally {
        await run.stop();
      }
    });
  },
  netemWhyNot,
);

kernelTest(
  "metrics: a real Prometheus scrapes --monitor --metrics and its query returns the 7 drops the test caused",
  async () => {
    await withNet("monprom", async (net) => {
      const run = await NettraceRun.start(
        ["--monitor", "--metrics", "127.0.0.1:0", "-d", net.v4.b, "-p", "udp", "--dport", "7531"],
        60000,
      );
      let prom: PrometheusServer | undefined;
      try {
        prom = await PrometheusServer.start("nettrace", new URL(metricsUrl(run)).host);
        const up = await prom.waitFor(`up{job="nettrace"}`, (v) => v === 1, 20000);
        assertEquals(up, 1, `Prometheus never scraped nettrace:\n${await prom.logTail()}`);
        for (let i = 0; i < 7; i++) await net.udpSend(net.a, net.v4.b, 7531, `drop-${i}`);
        const reason = reasonColumn("NO_SOCKET") ? `reason="NO_SOCKET"` : `location="__udp4_lib_rcv"`;
        const query = `sum(nettrace_drops_total{${reason}})`;
        const got = await prom.waitFor(query, (v) => v === 7, 20000);
        assertEquals(got, 7, `${query} through Prometheus`);
        // what nettrace says of itself is scraped too
        assertEquals(await prom.query(`nettrace_events_lost_total{part="drops"}`), 0);
      } finally {
        await prom?.stop();
        await run.stop();
      }
      const r = await run.stop();
      assertEquals(r.code, 0, r.stderr);
    });
    await assertNothingLeft("--metrics");
  },
  prometheusMissing(),
);

kernelTest(
  "metrics: the RTT histogram counts a connection's samples in the kernel; without --tcp-rtt none is printed",
  async () => {
    await withNet("monrtthist", async (net) => {
      const port = 7551;
      const run = await NettraceRun.start(["--monitor", "--metrics", "127.0.0.1:0", "-P", String(port)], 60000);
      try {
        await goodConnection(net, port, 20);
        // a marker after the transfer: a closed port's drop, shown once the samples are in
        await net.tcpConnect(net.a, net.v4.b, port);
        assert(await run.waitForLine(new RegExp(`:${port} .*\\*tcp port is not listened`), 15000), run.stdout);
        const text = await (await fetch(metricsUrl(run))).text();
        assertMatch(text, /^# TYPE nettrace_tcp_rtt_seconds histogram$/m);
        const count = metricSum(text, "nettrace_tcp_rtt_seconds_count");
        assert(count >= 1, `no RTT sample counted:\n${text}`);
        const buckets = text.split("\n").filter((l) => l.startsWith("nettrace_tcp_rtt_seconds_bucket{"))
          .map((l) => Number(l.split(" ").at(-1)));
        // cumulative, ending with every sample (+Inf)
        assert(buckets.every((b, i) => i === 0 || b >= buckets[i - 1]), text);
        assertEquals(buckets.at(-1), count);
        const sum = metricSum(text, "nettrace_tcp_rtt_seconds_sum");
        assert(sum > 0 && sum / count < 1, `mean RTT ${sum / count} s over veth:\n${text}`);
        const r = await run.stop();
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /sockets at .*tcp_probe_sock/);
        // the RTT points count for the histogram only: with no threshold no sample is printed
        assertEquals(r.stdout.split("\n").filter((l) => /\[(tcp_probe_sock|tcp_rate_gen) +\]/.test(l)), []);
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft("--metrics' RTT histogram");
  },
);

kernelTest(
  "metrics: /metrics is the exposition format; a public address is said at start; other paths are 404",
  async () => {
    const run = await NettraceRun.start(["--metrics", "0.0.0.0:0", "-P", "7541"], 60000);
    try {
      assertMatch(
        run.stderr,
        /^nettrace: --metrics: 0\.0\.0\.0:\d+ is not loopback: other hosts can read the metrics$/m,
      );
      const url = metricsUrl(run).replace("0.0.0.0", "127.0.0.1");
      const r = await fetch(url);
      assertEquals(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const text = await r.text();
      for (const family of ["nettrace_drops_total", "nettrace_events_lost_total", "nettrace_start_time_seconds"]) {
        assertMatch(text, new RegExp(`^# TYPE ${family} (counter|gauge)$`, "m"));
      }
      const other = await fetch(url.replace("/metrics", "/other"));
      await other.body?.cancel();
      assertEquals(other.status, 404);
    } finally {
      await run.stop();
    }
  },
);

kernelTest("monitor: bad input is one line, exit 2, nothing attached", async () => {
  for (
    const [args, want] of [
      [["--monitor", "--diag"], /^nettrace: --monitor cannot be combined with --diag/],
      [["--monitor", "-t", "tcp-state"], /^nettrace: --monitor cannot be combined with -t/],
      [["--monitor", "--sock"], /^nettrace: --sock cannot be combined with --monitor/],
      [["--monitor", "--filter-srtt", "10"], /^nettrace: --filter-srtt is for --rtt and --rtt-detail/],
      [["--monitor", "--rules", "/nonexistent/rules.yaml"], /^nettrace: .*\/nonexistent\/rules\.yaml/],
      [["--metrics", "9464"], /^nettrace: --metrics: '9464' is not ADDR:PORT/],
      [["--metrics", "127.0.0.1:70000"], /^nettrace: --metrics: port 70000 is out of range/],
      [["--drop", "--metrics", "127.0.0.1:9464"], /^nettrace: --metrics is for --monitor, not --drop/],
    ] as Array<[string[], RegExp]>
  ) {
    const r = await runNettrace(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertMatch(r.stderr, want);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  await assertNothingLeft("--monitor bad input");
});
