/**
 * --diag on TCP sockets, on the running kernel: faults a connection lives
 * through, built in a routed lab (client, router, server): a refused
 * connection, a SYN dropped on the router (handshake timeout), an
 * application closing with unread data (its reset, and the peer's view), one
 * data segment dropped on the router (fast recovery), data dropped until the
 * retransmission timer fires, and segments queued long enough that the
 * retransmissions were spurious. One nettrace run (filter: the client's address) sees them
 * all; each step checks its socket block's finding and advice. They come
 * from tracepoints (tcp_cong_state_set, tcp_send_reset, tcp_receive_reset),
 * so they hold on every kernel this suite runs on; where functions can be
 * traced, the retransmission timer (tcp_retransmit_timer) is checked too.
 * Then IPv6: a socket's IPv6 connection passes an IPv6 filter, and an IPv6
 * socket talking IPv4 (v4-mapped) passes an IPv4 one and shows as IPv4.
 */
import { assert, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { netCounter, removeStaleNamespaces, type VethPair, withNet } from "../helpers/netns.ts";
import { NettraceRun } from "../helpers/nettrace_process.ts";
import { type RoutedLab, withRoutedLab } from "../helpers/routed_lab.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { FlowProcess } from "../helpers/tcp_flow_process.ts";
import { functionProbesHere } from "../helpers/capabilities.ts";
import { type DiagBlock, diagBlocks } from "../helpers/diag_output.ts";
import { scaled, TIME_SCALE } from "../helpers/time_scale.ts";

await removeStaleNamespaces();

/** Whether the kernel names the reasons of the resets it sends (6.10 and later): the tcp_send_reset record has one. */
function resetReasonsHere(): boolean {
  for (const tracefs of ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]) {
    try {
      return /enum sk_rst_reason reason;/.test(Deno.readTextFileSync(`${tracefs}/events/tcp/tcp_send_reset/format`));
    } catch { /* not there */ }
  }
  return false;
}

kernelTest("diag: TCP socket faults get their findings (one run, a step per fault)", async (t) => {
  const timer = functionProbesHere();
  const reasons = resetReasonsHere();
  await withRoutedLab("dsk", async (lab: RoutedLab) => {
    const { server, client } = lab.addr;
    const late = "10.232.2.2"; // a second server address: the client's route to it has a 5 ms RTO floor
    await lab.must(lab.server, ["ip", "addr", "add", `${late}/24`, "dev", "veth0"]);
    // The groups these findings come from (socket points, TCP in and out, the link, ends of life), not the
    // whole tree: about 150 fentry functions would make every packet cost far more under emulation.
    const groups = "tcp-state,tcp-in,tcp-out,life,link-in,link-out";
    const run = await NettraceRun.start(["--diag", "--diag-keep", "--addr", client, "-t", groups], 60000);
    const flows: FlowProcess[] = [];
    const flow = (ns: string, ...args: string[]) => {
      const f = new FlowProcess(ns, args);
      flows.push(f);
      return f;
    };
    try {
      /** Runs traffic; waits for a new socket block with a line that has `on` and whose analysis matches `want`. */
      const expectSocket = async (
        traffic: () => Promise<unknown>,
        want: RegExp,
        what: string,
        on: string,
      ): Promise<DiagBlock> => {
        const before = diagBlocks(run.stdout).length;
        await traffic();
        const found = () =>
          diagBlocks(run.stdout).slice(before).find((b) =>
            b.kind === "sock" && want.test(b.analysis) && b.lines.some((l) => l.includes(on))
          );
        await run.waitFor(() => found() !== undefined, 10000);
        const b = found();
        assert(b, `${what}: no socket block with ${want} in:\n${run.stdout.split("\n").slice(-60).join("\n")}`);
        return b;
      };

      await t.step("a connection to a closed port: refused, the peer answered the SYN with a reset", async () => {
        const b = await expectSocket(
          () => lab.tcpConnect(server, 7300),
          /the connection was refused/,
          "refused",
          `-> ${server}:7300 SYN_SENT`,
        );
        assertMatch(
          b.analysis,
          /WARNING happens in tcp_receive_reset\(tcp-state\):\n\tthe connection was refused: the peer answered the SYN with a reset\n {4}fix advice:\n\tnothing listens/,
        );
        assert(b.lines.some((l) => /\[tcp_receive_reset +\] TCP: 10\.232\.1\.1:\d+ -> /.test(l)), b.lines.join("\n"));
      });

      await t.step("a SYN dropped on the router: Loss in the handshake (and the timer, where traced)", async () => {
        await lab.must(lab.router, [
          "iptables",
          "-A",
          "FORWARD",
          "-p",
          "tcp",
          "--dport",
          "7301",
          "--syn",
          "-j",
          "DROP",
        ]);
        const b = await expectSocket(
          // the SYN's first retransmission comes after 1 s: the connect must last longer (bash may start slowly)
          () => lab.tcpConnect(server, 7301, 1 + 2 * TIME_SCALE),
          /the handshake timed out/,
          "SYN timeout",
          `-> ${server}:7301 SYN_SENT`,
        );
        assertMatch(
          b.analysis,
          /WARNING happens in tcp_cong_state_set\(tcp-state\):\n\tTCP entered the Loss state: the handshake timed out and is retransmitted\n {4}fix advice:\n\tthe SYN or SYN-ACK got no answer/,
        );
        assert(b.lines.some((l) => /CA_Open->CA_Loss .*rto:/.test(l)), b.lines.join("\n"));
        if (timer) {
          assertMatch(
            b.analysis,
            /WARNING happens in tcp_retransmit_timer\(tcp-state\):\n\tthe TCP retransmission timer fired \(RTO\)/,
          );
        } else console.log("this kernel traces no functions: the tcp_retransmit_timer finding is not checked");
      });

      await t.step("the application closes with unread data: its reset, told apart, and the peer's view", async () => {
        const srv = flow(lab.server, "reset", server, "7302");
        await srv.ready("listening");
        const cmd = `exec 3<>/dev/tcp/${server}/7302; echo hello >&3; sleep 1.5`;
        const before = diagBlocks(run.stdout).length;
        const b = await expectSocket(
          () => lab.exec(lab.client, ["timeout", String(3 * TIME_SCALE), "bash", "-c", cmd]),
          /happens in tcp_send_active_reset/,
          "application reset",
          `${server}:7302 -> `,
        );
        if (reasons) {
          assertMatch(
            b.analysis,
            /WARNING happens in tcp_send_active_reset\(tcp-state\):\n\tthe application closed the socket with unread data: the kernel reset the connection\n {4}reset reason:\n\tTCP_ABORT_ON_CLOSE\n {4}fix advice:\n\tread everything/,
          );
        } else {
          assertMatch(
            b.analysis,
            /WARNING happens in tcp_send_active_reset\(tcp-state\):\n\tthe application reset the connection: it closed with unread data, with SO_LINGER 0, or aborted/,
          );
        }
        // the client's socket sees the reset arrive
        const peer = () =>
          diagBlocks(run.stdout).slice(before).find((x) =>
            x.kind === "sock" && /the peer reset the connection/.test(x.analysis) &&
            x.lines.some((l) => l.includes(`-> ${server}:7302`))
          );
        await run.waitFor(() => peer() !== undefined, 10000);
        assert(peer(), run.stdout.split("\n").slice(-40).join("\n"));
        await srv.done();
      });

      await t.step("one data segment dropped on the router: fast recovery, not spurious", async () => {
        const sink = flow(lab.server, "sink", server, "7303");
        await sink.ready("listening");
        await lab.must(lab.router, [
          "iptables",
          "-A",
          "FORWARD",
          "-p",
          "tcp",
          "--dport",
          "7303",
          "-m",
          "length",
          "--length",
          "500:65535",
          "-m",
          "statistic",
          "--mode",
          "nth",
          "--every",
          "1000000",
          "--packet",
          "3",
          "-j",
          "DROP",
        ]);
        const b = await expectSocket(
          async () => {
            const c = flow(lab.client, "send", server, "7303", "40", "1000");
            await c.ready("connected");
            await c.done();
          },
          /TCP entered fast recovery/,
          "fast recovery",
          `-> ${server}:7303 ESTABLISHED`,
        );
        assertMatch(
          b.analysis,
          /WARNING happens in tcp_cong_state_set\(tcp-state\):\n\tTCP entered fast recovery: the peer's duplicate ACKs or SACKs show lost segments\n {4}fix advice:\n\tlook for drops on the path/,
        );
        assert(b.lines.some((l) => /CA_Open->CA_Recovery /.test(l)), b.lines.join("\n"));
        assert(!/spurious/.test(b.analysis), `a real loss is not spurious:\n${b.analysis}`);
      });

      await t.step("data dropped until the timer fires: Loss after a retransmission timeout", async () => {
        // data segments (not the handshake, nor the FIN) to port 7304, forwarded by the router
        const dataDrop = [
          "FORWARD",
          "-p",
          "tcp",
          "--dport",
          "7304",
          "-m",
          "length",
          "--length",
          "500:65535",
          "-j",
          "DROP",
        ];
        const sink = flow(lab.server, "sink", server, "7304");
        await sink.ready("listening");
        const b = await expectSocket(
          async () => {
            // 5 chunks get through; during the pause the router starts dropping data; the 6th times out
            const c = flow(lab.client, "send", server, "7304", "5", "1000", String(scaled(1000)));
            await c.ready("connected");
            await lab.must(lab.router, ["iptables", "-A", ...dataDrop]);
            await c.done();
          },
          /a retransmission timeout/,
          "RTO",
          // ESTABLISHED, or FIN_WAIT1 when the sender closed before the timer fired (a slow guest)
          `-> ${server}:7304 `,
        );
        assertMatch(
          b.analysis,
          /WARNING happens in tcp_cong_state_set\(tcp-state\):\n\tTCP entered the Loss state: a retransmission timeout \(or a smaller path MTU\) made it resend all in flight\n {4}fix advice:\n\tnothing was acknowledged/,
        );
        if (timer) assertMatch(b.analysis, /WARNING happens in tcp_retransmit_timer\(tcp-state\)/);
        // let the connection end: its orphan would retransmit for minutes, past this test
        await lab.must(lab.router, ["iptables", "-D", ...dataDrop]);
      });

      await t.step("segments late past the retransmission timeout: the retransmissions were spurious", async () => {
        // The router's way to the server becomes a 20 kbit/s token bucket that queues, never drops: one 8 KB
        // write leaves in a burst, a segment every 600 ms, longer than an RTO even where a round trip takes
        // 100 ms (an emulated guest tracing every packet). The route to the late address has a 5 ms RTO
        // floor and the tail loss probe is off, so the retransmission timer fires while the originals still
        // wait in the queue. Their ACKs echo timestamps older than the first retransmission: the kernel knows
        // the timeout was spurious and undoes it (TcpExt TCPLossUndo). That count is the truth the finding is
        // checked against: a try in which the kernel undid nothing proves nothing and the next one tries again.
        await lab.must(lab.client, ["ip", "route", "add", `${late}/32`, "via", lab.addr.routerC, "rto_min", "5ms"]);
        await lab.must(lab.client, ["sysctl", "-qw", "net.ipv4.tcp_early_retrans=0"]);
        // the router learns the late address's link address now, not during the first handshake: a round trip
        // that waited for ARP would set a first RTO longer than the queue's delay
        await lab.must(lab.client, ["ping", "-c", "1", "-W", String(2 * TIME_SCALE), late]);
        const shaper = ["dev", "vs", "root", "tbf", "rate", "20kbit", "burst", "2000", "latency", "20s"];
        await lab.must(lab.router, ["tc", "qdisc", "add", ...shaper]);
        try {
          let b: DiagBlock | undefined;
          const undone = () => netCounter(lab.client, "netstat", "TcpExt", "TCPLossUndo");
          for (let port = 7305; port < 7308 && !b; port++) {
            const sink = flow(lab.server, "sink", late, String(port));
            await sink.ready("listening");
            const before = diagBlocks(run.stdout).length;
            const undosBefore = await undone();
            const timeouts = () => netCounter(lab.client, "netstat", "TcpExt", "TCPTimeouts");
            const timeoutsBefore = await timeouts();
            const c = flow(lab.client, "send", late, String(port), "1", String(8 * 1024));
            await c.ready("connected");
            await c.done();
            const mine = () =>
              diagBlocks(run.stdout).slice(before).filter((x) =>
                x.kind === "sock" && x.lines.some((l) => l.includes(`-> ${late}:${port} `))
              );
            const spurious = () =>
              mine().find((x) =>
                x.lines.some((l) => / CA_Loss->CA_Open .*\*the retransmissions were spurious/.test(l))
              );
            const seen = () =>
              mine().flatMap((x) => x.lines).filter((l) => l.includes(`:${port} `))
                .map((l) => l.replace(/^\[[^\]]*\] /, "").replace(/ TCP: \S+ -> \S+/, "")).join("\n    ");
            // the kernel's count first: the queue drains in about 3.6 s
            const deadline = Date.now() + scaled(10000);
            while (await undone() === undosBefore && Date.now() < deadline) {
              await new Promise((r) => setTimeout(r, 100));
            }
            if (await undone() === undosBefore) {
              const fired = await timeouts() - timeoutsBefore;
              console.log(
                `port ${port}: the kernel undid no retransmission timeout (${fired} fired); trying again. Seen:\n    ${seen()}`,
              );
              continue;
            }
            await run.waitFor(() => spurious() !== undefined, 10000);
            b = spurious();
            assert(
              b,
              `the kernel undid a retransmission timeout (TCPLossUndo) on port ${port}; nettrace showed:\n    ${seen()}`,
            );
          }
          assert(b, "in 3 connections the kernel undid no retransmission timeout (the lab never made one spurious)");
          assertMatch(
            b.analysis,
            /WARNING happens in tcp_cong_state_set\(tcp-state\):\n\tthe retransmissions were spurious: TCP undid its congestion window reduction\n {4}fix advice:\n\tthe segments were late, not lost/,
          );
        } finally {
          await lab.exec(lab.router, ["tc", "qdisc", "del", ...shaper.slice(0, 3)]);
        }
      });
    } finally {
      for (const f of flows) await f.stop();
      await run.stop();
    }
  });
  await assertNothingLeft("after --diag on sockets");
});

kernelTest(
  "diag: IPv6 sockets pass IPv6 filters; a v4-mapped IPv6 socket passes IPv4 ones and shows as IPv4",
  async () => {
    await withNet("dsk6", async (net: VethPair) => {
      const v6 = await NettraceRun.start(["--diag", "--diag-keep", "-t", "tcp-state", "--addr", net.v6.b], 60000);
      try {
        const refused = () =>
          diagBlocks(v6.stdout).find((b) =>
            b.kind === "sock" && /the connection was refused/.test(b.analysis) &&
            b.lines.some((l) => new RegExp(`TCP: \\[${net.v6.a}\\]:\\d+ -> \\[${net.v6.b}\\]:7400 SYN_SENT`).test(l))
          );
        // the test is the refusal, not the link: a connection whose SYNs were all lost (a loaded host) is tried again
        for (let attempt = 0; attempt < 3 && refused() === undefined; attempt++) {
          await net.tcpConnect(net.a, net.v6.b, 7400, 3 * TIME_SCALE);
          await v6.waitFor(() => refused() !== undefined, 5000);
        }
        assert(refused(), `${v6.stdout}\n${v6.stderr}`);
      } finally {
        await v6.stop();
      }

      const v4 = await NettraceRun.start(
        ["--diag", "--diag-keep", "-t", "tcp-state", "--addr", net.v4.b, "--port", "7401"],
        60000,
      );
      // listening on :: takes IPv4 connections through an IPv6 socket (v4-mapped addresses)
      const srv = new FlowProcess(net.b, ["reset", "::", "7401"]);
      try {
        await srv.ready("listening");
        await net.exec(net.a, [
          "timeout",
          String(3 * TIME_SCALE),
          "bash",
          "-c",
          `exec 3<>/dev/tcp/${net.v4.b}/7401; echo hi >&3; sleep 1.5`,
        ]);
        const reset = () =>
          diagBlocks(v4.stdout).find((b) =>
            b.kind === "sock" && /happens in tcp_send_active_reset/.test(b.analysis) &&
            b.lines.some((l) => l.includes(`TCP: ${net.v4.b}:7401 -> ${net.v4.a}:`))
          );
        await v4.waitFor(() => reset() !== undefined, 10000);
        assert(reset(), v4.stdout);
      } finally {
        await srv.stop();
        await v4.stop();
      }
    });
    await assertNothingLeft("after --diag on IPv6 sockets");
  },
);
