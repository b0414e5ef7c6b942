/**
 * --sock on the running kernel: sockets instead of packets, one line per
 * event. In two namespaces over veth: a TCP connection's life (its states,
 * what it sends and receives, its close) with another port's connection left
 * out by the filter; data dropped by nft until the client retransmits; an
 * application's reset and the peer's view of it; UDP sends; --json; bad
 * input. Sends and receives come from sock:sock_send_length and
 * sock:sock_recv_length (kernels 6.5 and later) and from tcp_sendmsg and
 * tcp_recvmsg where functions can be traced: each test checks what this
 * kernel has, and says what it cannot check.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { dropTcpData, removeStaleNamespaces, withNet } from "../helpers/netns.ts";
import { NettraceRun, runNettrace } from "../helpers/nettrace_process.ts";
import { withFlows } from "../helpers/tcp_flow_process.ts";
import { functionProbesHere } from "../helpers/capabilities.ts";
import { parseJsonLines, schemaProblem } from "../helpers/json_schema.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { pathExists } from "../helpers/path_exists.ts";

await removeStaleNamespaces();

/** Whether this kernel has the tracepoint CATEGORY/EVENT. */
function tracepointHere(event: string): boolean {
  return ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].some((t) => pathExists(`${t}/events/${event}/format`));
}

/** The lines of point whose connection goes from `from` (addr:port, port may be a regex) to `to`. */
function linesOf(lines: string[], point: string, from: string, to: string): string[] {
  const re = new RegExp(`\\[${point} *\\] TCP: ${from.replaceAll(".", "\\.")} -> ${to.replaceAll(".", "\\.")} `);
  return lines.filter((l) => re.test(l));
}

kernelTest(
  "sock: a connection's life, one line per event: states, sends, receives, close; other ports left out",
  async () => {
    const functions = functionProbesHere();
    const lengths = tracepointHere("sock/sock_send_length");
    assert(functions || lengths, "this kernel has neither sock:sock_send_length nor function probes: no sends to see");
    await withNet("sock", async (net) => {
      const port = 7421, other = 7422;
      const run = await NettraceRun.start(["--sock", "-P", String(port)], 60000);
      try {
        await withFlows(async (flow) => {
          // first a connection the filter leaves out, then the one it keeps
          for (const p of [other, port]) {
            const server = flow(net.b, "drain", net.v4.b, String(p));
            await server.ready("listening");
            const client = flow(net.a, "send", net.v4.b, String(p), "3", "100");
            await client.ready("connected");
            await client.done();
            await server.done();
          }
        });
        const a = `${net.v4.a}:\\d+`, b = `${net.v4.b}:${port}`;
        // the server closes last: its socket's LAST_ACK->CLOSE and destruction end the connection
        const serverEnd = () => linesOf(run.lines, "tcp_destroy_sock", b, a).length > 0;
        const seen = await run.waitFor(serverEnd, 15000);
        const r = await run.stop();
        assert(seen, `the server socket's destruction was not seen:\n${r.stdout}\n${r.stderr}`);
        const lines = r.stdout.split("\n");
        assertMatch(r.stderr, /^tracing \d+ points \(/m);
        const states = (from: string, to: string) =>
          linesOf(lines, "inet_sock_set_state", from, to).map((l) => l.match(/ ([A-Z_0-9]+->[A-Z_0-9]+) /)?.[1]);
        const client = states(a, b), server = states(b, a);
        for (const want of ["SYN_SENT->ESTABLISHED", "ESTABLISHED->FIN_WAIT1", "FIN_WAIT1->FIN_WAIT2"]) {
          assert(client.includes(want), `client: no ${want} in ${client.join(", ")}\n${r.stdout}`);
        }
        for (
          const want of ["SYN_RECV->ESTABLISHED", "ESTABLISHED->CLOSE_WAIT", "CLOSE_WAIT->LAST_ACK", "LAST_ACK->CLOSE"]
        ) {
          assert(server.includes(want), `server: no ${want} in ${server.join(", ")}\n${r.stdout}`);
        }
        // the connecting socket has no port yet when it enters SYN_SENT
        assert(
          linesOf(lines, "inet_sock_set_state", `${net.v4.a}:0`, b).some((l) => / CLOSE->SYN_SENT /.test(l)),
          r.stdout,
        );
        assert(states(`${net.v4.b}:${port}`, "0.0.0.0:0").includes("CLOSE->LISTEN"), `the listener:\n${r.stdout}`);
        // sends of 100 bytes each, and what the server read, with the socket's counters
        if (lengths) {
          const sent = linesOf(lines, "sock_send_length", a, b);
          assertEquals(sent.length, 3, `three sends:\n${r.stdout}`);
          for (const l of sent) {
            assertMatch(l, / ESTABLISHED CA_Open bytes:100 out:\d+ retrans:0 total_retrans:0 cwnd:\d+ srtt:/);
          }
          const read = linesOf(lines, "sock_recv_length", b, a).map((l) => Number(l.match(/ bytes:(\d+) /)?.[1]));
          assertEquals(read.reduce((x, y) => x + y, 0), 300, `the server read 300 bytes:\n${r.stdout}`);
        } else console.log("this kernel has no sock:sock_send_length (before 6.5): its sends are not checked");
        if (functions) {
          const asked = linesOf(lines, "tcp_sendmsg", a, b);
          assertEquals(asked.length, 3, `three tcp_sendmsg:\n${r.stdout}`);
          for (const l of asked) assertMatch(l, / bytes:100 /);
          assert(linesOf(lines, "tcp_recvmsg", b, a).length >= 1, `tcp_recvmsg:\n${r.stdout}`);
          assert(linesOf(lines, "tcp_close", a, b).length === 1, `the client's close:\n${r.stdout}`);
        } else console.log("this kernel traces no functions: tcp_sendmsg, tcp_recvmsg and tcp_close are not checked");
        assert(!lines.some((l) => l.includes(`:${other} `)), `port ${other} is filtered out:\n${r.stdout}`);
        assertMatch(r.stderr, /end trace\.\.\.\n\d+ events shown, 0 events lost/);
      } finally {
        await run.stop();
      }
    });
    await assertNothingLeft("--sock");
  },
);

kernelTest("sock: data dropped until the client retransmits; an application's reset and the peer's view", async () => {
  const functions = functionProbesHere();
  await withNet("sockrtx", async (net) => {
    const lost = 7431, reset = 7432;
    await dropTcpData(net, "sockrtx", lost);
    const run = await NettraceRun.start(["--sock", "--addr", net.v4.b], 60000);
    try {
      await withFlows(async (flow) => {
        const sink = flow(net.b, "sink", net.v4.b, String(lost));
        await sink.ready("listening");
        const client = flow(net.a, "send", net.v4.b, String(lost), "2", "1000");
        await client.ready("connected");
        const a = `${net.v4.a}:\\d+`;
        const retransmitted = () => linesOf(run.lines, "tcp_retransmit", a, `${net.v4.b}:${lost}`);
        const ok = await run.waitFor(() => retransmitted().length >= 1, 15000);
        assert(ok, `no retransmission:\n${run.stdout}`);
        assertMatch(
          retransmitted()[0],
          / ESTABLISHED CA_(Open|Loss|Recovery|Disorder) out:[1-9]\d* retrans:\d+ total_retrans:\d+/,
        );
        if (functions) {
          const timer = () => linesOf(run.lines, "tcp_write_timer_handler", a, `${net.v4.b}:${lost}`).length > 0;
          assert(await run.waitFor(timer, 10000), `the write timer:\n${run.stdout}`);
        } else console.log("this kernel traces no functions: tcp_write_timer_handler is not checked");

        const server = flow(net.b, "reset", net.v4.b, String(reset));
        await server.ready("listening");
        const cmd = `exec 3<>/dev/tcp/${net.v4.b}/${reset}; echo hello >&3; sleep 1.5`;
        await net.exec(net.a, ["timeout", "3", "bash", "-c", cmd]);
        const resets = () => [
          linesOf(run.lines, "tcp_send_active_reset", `${net.v4.b}:${reset}`, a),
          linesOf(run.lines, "tcp_receive_reset", a, `${net.v4.b}:${reset}`),
        ];
        const both = await run.waitFor(() => resets().every((x) => x.length > 0), 10000);
        assert(both, `the reset sent and received:\n${run.stdout}`);
        await server.done();
      });
    } finally {
      await run.stop();
    }
  });
  await assertNothingLeft("--sock");
});

kernelTest("sock: UDP sends show as UDP with their bytes (sock:sock_send_length)", async () => {
  await withNet("sockudp", async (net) => {
    const run = await NettraceRun.start(["--sock", "-p", "udp", "-D", "7441"], 60000);
    try {
      await net.udpSend(net.a, net.v4.b, 7442, "filtered-out");
      await net.udpSend(net.a, net.v4.b, 7441, "hello");
      const want = new RegExp(
        `\\[sock_send_length +\\] UDP: ${net.v4.a.replaceAll(".", "\\.")}:\\d+ -> ${
          net.v4.b.replaceAll(".", "\\.")
        }:7441 bytes:6$`,
      );
      const ok = await run.waitForLine(want, 10000);
      const r = await run.stop();
      assert(ok, `no UDP send:\n${r.stdout}\n${r.stderr}`);
      assert(!r.stdout.includes(":7442"), `port 7442 is filtered out:\n${r.stdout}`);
    } finally {
      await run.stop();
    }
  });
}, tracepointHere("sock/sock_send_length") ? undefined : "this kernel has no sock:sock_send_length (before 6.5)");

kernelTest("sock: --json gives each event as a socket event that follows the schema", async () => {
  await withNet("sockjson", async (net) => {
    const port = 7451;
    const run = await NettraceRun.start(["--sock", "--json", "-P", String(port)], 60000);
    try {
      await withFlows(async (flow) => {
        const server = flow(net.b, "drain", net.v4.b, String(port));
        await server.ready("listening");
        const client = flow(net.a, "send", net.v4.b, String(port), "1", "100");
        await client.ready("connected");
        await client.done();
        await server.done();
      });
      const destroyed = () => run.lines.filter((l) => l.includes('"point":"tcp_destroy_sock"')).length >= 1;
      const ok = await run.waitFor(destroyed, 15000);
      const r = await run.stop();
      assert(ok, `no tcp_destroy_sock:\n${r.stdout}\n${r.stderr}`);
      const records = parseJsonLines(r.stdout);
      for (const rec of records) assertEquals(schemaProblem(rec), undefined, JSON.stringify(rec));
      const events = records.filter((x) => x.type === "event" && x.kind === "socket");
      assert(events.length >= 5, r.stdout);
      const established = events.find((e) => e.point === "inet_sock_set_state" && e.new_state === "ESTABLISHED");
      assert(established, `no new_state ESTABLISHED:\n${r.stdout}`);
      assertEquals([established.protocol, established.daddr, established.dport], ["TCP", net.v4.b, port]);
      assert(records.some((x) => x.type === "summary"), "the summary closes the output");
    } finally {
      await run.stop();
    }
  });
});

kernelTest("sock: -t naming no socket point, and packet options, are bad input: one line, exit 2", async () => {
  for (
    const [args, want] of [
      [["--sock", "-t", "ip_rcv"], /^nettrace: -t ip_rcv: no socket point there \(--sock traces sockets/],
      [["--sock", "--diag"], /^nettrace: --diag is about packets: --sock traces sockets/],
      [["--sock", "--tcp-flags", "S"], /^nettrace: --tcp-flags is about packets/],
    ] as const
  ) {
    const r = await runNettrace([...args]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertMatch(r.stderr, want);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  await assertNothingLeft("--sock bad input");
});
