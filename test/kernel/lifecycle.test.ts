/**
 * How nettrace starts and ends on the real kernel: lost events are counted,
 * bad input exits 2, an unprivileged user exits 1, and whatever the way out
 * (SIGINT, -c, SIGKILL, an error) nothing of ours stays in the kernel.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { commandExists, kernelTest } from "../helpers/kernel_env.ts";
import { must, removeStaleNamespaces, sh, VethPair } from "../helpers/netns.ts";
import { DENO, nettraceCommand, NettraceRun, runNettrace } from "../helpers/nettrace_process.ts";

await removeStaleNamespaces();

const FLOOD = new URL("../helpers/udp_flood.ts", import.meta.url).pathname;

/** Names of loaded BPF programs that are nettrace's (all are named nt_*). */
async function ourPrograms(): Promise<string[]> {
  const out = await must(["bpftool", "-j", "prog", "show"]);
  return (JSON.parse(out) as Array<{ name?: string }>).map((p) => p.name ?? "").filter((n) => n.startsWith("nt_"));
}

/** Ids of BPF links whose program is nettrace's. */
async function ourLinks(): Promise<number[]> {
  const progs = JSON.parse(await must(["bpftool", "-j", "prog", "show"])) as Array<{ id: number; name?: string }>;
  const ids = new Set(progs.filter((p) => (p.name ?? "").startsWith("nt_")).map((p) => p.id));
  const links = JSON.parse(await must(["bpftool", "-j", "link", "show"])) as Array<{ id: number; prog_id: number }>;
  return links.filter((l) => ids.has(l.prog_id)).map((l) => l.id);
}

/** Waits until no program of ours is loaded (the kernel frees them right after the fds close). */
async function assertNothingLeft(): Promise<void> {
  let progs: string[] = [];
  for (let i = 0; i < 40; i++) {
    progs = await ourPrograms();
    if (progs.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assertEquals(progs, [], "BPF programs of nettrace still loaded");
  assertEquals(await ourLinks(), [], "BPF links of nettrace still attached");
}

kernelTest(
  "lifecycle: while running, our program and link are in the kernel; after SIGKILL they are gone",
  async () => {
    await assertNothingLeft();
    const run = await NettraceRun.start(["--drop", "-p", "udp"]);
    try {
      assert((await ourPrograms()).includes("nt_drop_tp"), "nt_drop_tp not loaded while running");
      assertEquals((await ourLinks()).length, 1);
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
  assertMatch(r.stderr, /end trace: \d+ events shown, \d+ events lost/);
  await assertNothingLeft();
});

kernelTest("lifecycle: a flood through a 4 KiB ring buffer reports lost events, live and at the end", async () => {
  const net = await VethPair.create("flood");
  try {
    const run = await NettraceRun.start(["--drop", "--ring-size", "4", "-d", net.v4.b, "-p", "udp"]);
    try {
      const sent = await net.exec(net.a, [DENO, "run", "-A", FLOOD, net.v4.b, "9", "30000"]);
      assertEquals(sent.code, 0, sent.stderr);
      await run.waitFor(() => /events lost: ring buffer full/.test(run.stderr), 3000);
      const r = await run.stop();
      const live = r.stderr.match(/(\d+) events lost: ring buffer full \((\d+) lost in all\)/);
      assert(live, `no live loss line:\n${r.stderr}`);
      const end = r.stderr.match(/end trace: (\d+) events shown, (\d+) events lost/);
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
  [["--drop", "--btf", "/nonexistent/vmlinux"], /--btf: no BTF file at '\/nonexistent\/vmlinux'/],
  [["--drop", "--netns", "1", "--netns-current"], /cannot be combined/],
  [[], /no mode given/],
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

kernelTest("lifecycle: an unprivileged user gets one line and exit 1", async () => {
  if (!commandExists("setpriv")) {
    console.log("skipped: setpriv (util-linux) is not installed");
    return;
  }
  const home = await Deno.makeTempDir();
  try {
    await Deno.chmod(home, 0o777);
    const [cmd, ...args] = nettraceCommand(["--drop"]);
    const r = await sh([
      "env",
      `DENO_DIR=${home}/deno`,
      `HOME=${home}`,
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "--inh-caps=-all",
      cmd,
      ...args,
    ]);
    assertEquals(r.code, 1, r.stderr);
    assertEquals(r.stderr.trim(), "nettrace: nettrace needs root (or CAP_BPF and CAP_PERFMON) to load BPF programs");
    assertEquals(await ourLinks(), []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
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
