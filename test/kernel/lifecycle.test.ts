/**
 * How nettrace starts and ends on the real kernel: lost events are counted,
 * bad input exits 2, an unprivileged user exits 1, and whatever the way out
 * (SIGINT, -c, SIGKILL, an error) nothing of ours stays in the kernel.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { assertNothingLeft, ourLinks, ourPrograms, perfEventLinksShow } from "../helpers/bpf_state.ts";
import { autoDropPoint } from "../helpers/capabilities.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { removeStaleNamespaces, VethPair } from "../helpers/netns.ts";
import {
  DENO,
  NettraceRun,
  runNettrace,
  runNettraceHonouringFileModes,
  runNettraceUnprivileged,
} from "../helpers/nettrace_process.ts";

await removeStaleNamespaces();

const FLOOD = new URL("../helpers/udp_flood.ts", import.meta.url).pathname;

kernelTest(
  "lifecycle: while running, our program and link are in the kernel; after SIGKILL they are gone",
  async () => {
    await assertNothingLeft();
    const run = await NettraceRun.start(["--drop", "-p", "udp"]);
    try {
      const typed = autoDropPoint === "tp_btf kfree_skb";
      const program = typed ? "nt_drop_tpbtf" : "nt_drop_tp";
      assert((await ourPrograms()).includes(program), `${program} not loaded while running`);
      // the BTF-typed tracepoint's link; the classic tracepoint's where the kernel shows such links (5.15+)
      assertEquals((await ourLinks()).length, typed || await perfEventLinksShow() ? 1 : 0);
      const r = await run.stop("SIGKILL");
      assertEquals(r.signal, "SIGKILL");
      await assertNothingLeft();
    } finally {
      await run.stop();
    }
  },
);

kernelTest("lifecycle: SIGTERM ends with a summary and nothing left", async () => {
  const run = await NettraceRun.start(["--drop"]);
  const r = await run.stop("SIGTERM");
  assertEquals(r.code, 0);
  assertMatch(r.stderr, /end trace\.\.\.\n\d+ events shown, \d+ summarized, \d+ lost/);
  await assertNothingLeft();
});

for (const [transport, buffer] of [["ringbuf", "ring buffer"], ["perf", "perf buffer"]]) {
  kernelTest(`lifecycle: a flood through a 4 KiB ${buffer} reports lost events, live and at the end`, async () => {
    const net = await VethPair.create(`fl${transport.slice(0, 4)}`);
    try {
      const args = [
        "--drop",
        "--no-storm-limit",
        "--transport",
        transport,
        "--ring-size",
        "4",
        "-d",
        net.v4.b,
        "-p",
        "udp",
      ];
      const run = await NettraceRun.start(args);
      try {
        const sent = await net.exec(net.a, [DENO, "run", "-A", FLOOD, net.v4.b, "9", "30000"]);
        assertEquals(sent.code, 0, sent.stderr);
        const lossLine = new RegExp(`(\\d+) events lost: ${buffer} full \\((\\d+) lost in all\\)`);
        await run.waitFor(() => lossLine.test(run.stderr), 3000);
        // every datagram dropped before nettrace stops: the last ones may still wait in a backlog when the sender ends
        let dropped = 0;
        for (const end = Date.now() + 10000; dropped < 30000 && Date.now() < end;) {
          dropped = await net.snmpCounter(net.b, "Udp", "NoPorts");
          if (dropped < 30000) await new Promise((r) => setTimeout(r, 50));
        }
        const r = await run.stop();
        assert(lossLine.test(r.stderr), `no live loss line:\n${r.stderr}`);
        const end = r.stderr.match(/end trace\.\.\.\n(\d+) events shown, 0 summarized, (\d+) lost/);
        assert(end, r.stderr);
        const shown = Number(end[1]), lost = Number(end[2]);
        assert(lost > 0, `lost is 0: ${r.stderr}`);
        assertEquals(shown, r.stdout.trim().split("\n").length);
        // every drop the kernel counted was either shown or counted lost
        const noPorts = await net.snmpCounter(net.b, "Udp", "NoPorts");
        assertEquals(shown + lost, noPorts, `shown ${shown} + lost ${lost} != kernel NoPorts ${noPorts}`);
      } finally {
        await run.stop();
      }
    } finally {
      await net.destroy();
    }
    await assertNothingLeft();
  });
}

/** Files that are not what --btf and --rules want: empty, random bytes, a directory (removed at the end). */
const BAD = Deno.makeTempDirSync({ prefix: "nettrace-bad-input-" });
Deno.writeFileSync(`${BAD}/empty`, new Uint8Array());
Deno.writeFileSync(`${BAD}/random`, crypto.getRandomValues(new Uint8Array(4096)));
Deno.mkdirSync(`${BAD}/dir`);
Deno.writeTextFileSync(`${BAD}/comments`, "# rules to come\n\n");
globalThis.addEventListener("unload", () => Deno.removeSync(BAD, { recursive: true }));
const quoted = (path: string) => `'${path.replace(/[.]/g, "\\.")}'`;

const BAD_INPUTS: Array<[string[], RegExp]> = [
  [["--drop", "-s", "10.0.0.300"], /-s: '10\.0\.0\.300' is not an IPv4 or IPv6 address/],
  [["--drop", "--daddr", "fe80::1::2"], /--daddr: 'fe80::1::2' is not an IPv4 or IPv6 address/],
  [["--drop", "-D", "0"], /-D: port 0 is out of range/],
  [["--drop", "--sport", "65536"], /--sport: port 65536 is out of range/],
  [["--drop", "-p", "tcpp"], /-p: unknown protocol 'tcpp'/],
  [["--drop", "--no-such-option"], /unknown option '--no-such-option'/],
  [["--drop", "--check"], /cannot be combined with --drop/],
  [["--drop", "-c"], /-c needs a value/],
  [["--drop", "--ring-size", "12"], /--ring-size: 12 KiB is not a power of two/],
  [["--drop", "--btf", "/nonexistent/vmlinux"], /--btf '\/nonexistent\/vmlinux': no such file\n$/],
  // a file that is not BTF, in every mode: one line naming the file and what is wrong
  [
    ["--drop", "--btf", "/etc/passwd"],
    /--btf '\/etc\/passwd': not a BTF file \(raw BTF, or an ELF with a \.BTF section\): /,
  ],
  [["-p", "icmp", "--btf", `${BAD}/random`], new RegExp(`--btf ${quoted(`${BAD}/random`)}: not a BTF file`)],
  [["--check", "--btf", `${BAD}/dir`], new RegExp(`--btf ${quoted(`${BAD}/dir`)}: a directory, not a BTF file\n$`)],
  [["explain", "NO_SOCKET", "--btf", `${BAD}/empty`], new RegExp(`--btf ${quoted(`${BAD}/empty`)}: empty, not a BTF`)],
  [["-t", "?", "--btf", `${BAD}/empty`], new RegExp(`--btf ${quoted(`${BAD}/empty`)}: empty, not a BTF`)],
  [["--diag", "-p", "tcp", "--rules", `${BAD}/dir`], new RegExp(`--rules ${quoted(`${BAD}/dir`)}: a directory`)],
  [
    ["--diag", "-p", "tcp", "--rules", `${BAD}/empty`],
    new RegExp(`--rules ${quoted(`${BAD}/empty`)}: empty, not a rule file`),
  ],
  [
    ["--diag", "-p", "tcp", "--rules", `${BAD}/comments`],
    new RegExp(`--rules ${quoted(`${BAD}/comments`)}: has no rules \\(only comments or blank lines\\)`),
  ],
  [["--diag", "-p", "tcp", "--rules", `${BAD}/random`], new RegExp(`--rules ${quoted(`${BAD}/random`)}: not a text`)],
  [["--drop", "--netns", "1", "--netns-current"], /cannot be combined/],
];

for (const [args, re] of BAD_INPUTS) {
  kernelTest(
    `lifecycle: bad input ${JSON.stringify(args.join(" "))} exits 2 with one line, nothing attached`,
    async () => {
      const r = await runNettrace(args);
      assertEquals(r.code, 2, r.stderr);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assertMatch(r.stderr, re);
      assertEquals(r.stdout, "");
      assertEquals(await ourLinks(), []);
    },
  );
}

kernelTest("lifecycle: a file nettrace may not read (--btf, --rules) is one line naming it, exit 2", async () => {
  const locked = `${BAD}/unreadable`;
  Deno.writeTextFileSync(locked, "# rules\n");
  Deno.chmodSync(locked, 0o000);
  for (const args of [["--drop", "--btf", locked], ["--diag", "-p", "tcp", "--rules", locked]]) {
    const r = await runNettraceHonouringFileModes(args);
    assertEquals(r.code, 2, r.stderr);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    assertMatch(
      r.stderr,
      new RegExp(`${args[args.length - 2]} ${quoted(locked)}: cannot read it: .*[Pp]ermission denied`),
    );
    assertEquals(await ourLinks(), []);
  }
});

kernelTest("lifecycle: an unprivileged user gets one line and exit 1", async () => {
  const r = await runNettraceUnprivileged(["--drop"]);
  assertEquals(r.code, 1, r.stderr);
  assertEquals(r.stderr.trim(), "nettrace: nettrace needs root (or CAP_BPF and CAP_PERFMON) to load BPF programs");
  assertEquals(await ourLinks(), []);
});

kernelTest("lifecycle: -h lists every option with a meaning; -V prints the version", async () => {
  const h = await runNettrace(["-h"]);
  assertEquals(h.code, 0);
  for (
    const opt of [
      "--saddr",
      "--daddr",
      "--addr",
      "--sport",
      "--dport",
      "--port",
      "--proto",
      "--netns",
      "--netns-current",
      "--pid",
      "--count",
      "--drop",
      "--drop-stack",
      "--detail",
      "--date",
      "--check",
      "--btf",
      "--help",
      "--version",
    ]
  ) {
    assertMatch(h.stdout, new RegExp(`${opt}\\b.* \\w+`), `-h lacks ${opt}`);
  }
  const v = await runNettrace(["-V"]);
  assertEquals(v.code, 0);
  assertMatch(v.stdout, /^nettrace \d+\.\d+\.\d+\n$/);
});

kernelTest("lifecycle: --rate-limit holds events back in the kernel, counted live and at the end", async () => {
  const net = await VethPair.create("rate");
  try {
    const run = await NettraceRun.start([
      "--drop",
      "--no-storm-limit",
      "--rate-limit",
      "20/s",
      "-d",
      net.v4.b,
      "-p",
      "udp",
    ]);
    try {
      const started = Date.now();
      const sent = await net.exec(net.a, [DENO, "run", "-A", FLOOD, net.v4.b, "9", "3000"]);
      assertEquals(sent.code, 0, sent.stderr);
      await run.waitFor(() => /events not sent: over --rate-limit/.test(run.stderr), 3000);
      const r = await run.stop();
      const seconds = (Date.now() - started) / 1000;
      assertMatch(r.stderr, /nettrace: \d+ events not sent: over --rate-limit \(\d+ in all\)/);
      const end = r.stderr.match(
        /end trace\.\.\.\n(\d+) events shown, 0 summarized, (\d+) lost, (\d+) held back by --rate-limit/,
      );
      assert(end, r.stderr);
      const [shown, lost, limited] = end.slice(1).map(Number);
      const cpus = navigator.hardwareConcurrency;
      // at most 20 per second and CPU, in as many one-second windows as the run touched
      assert(shown <= 20 * cpus * (Math.ceil(seconds) + 1), `${shown} shown in ${seconds}s on ${cpus} CPUs`);
      assert(limited > 0);
      const noPorts = await net.snmpCounter(net.b, "Udp", "NoPorts");
      assertEquals(shown + lost + limited, noPorts, "every drop shown, lost or held back");
    } finally {
      await run.stop();
    }
  } finally {
    await net.destroy();
  }
});
