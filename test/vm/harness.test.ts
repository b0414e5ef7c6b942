/**
 * test/vm/guest.sh itself, on the host: the guest runs the command on the
 * Debian kernel, its stdout and stderr come back apart, its exit status is
 * returned, and after a timeout or Ctrl-C no qemu process and no run
 * directory is left. Skipped, with the reason, where no guest can run.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { TIME_SCALE } from "../helpers/time_scale.ts";

const GUEST = new URL("./guest.sh", import.meta.url).pathname;
const CACHE = Deno.env.get("NETTRACE_VM_CACHE") ?? `${Deno.env.get("HOME")}/.cache/nettrace-vm`;
const dec = new TextDecoder();

const check = await new Deno.Command(GUEST, { args: ["check"], stdout: "piped", stderr: "null" }).output();
const skip = check.code === 0 ? undefined : dec.decode(check.stdout).trim();
if (skip) console.log(`guest harness tests skipped: ${skip}`);

function guestTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: skip !== undefined, sanitizeResources: false, sanitizeOps: false, fn });
}

/** Pids of qemu processes whose command line names our run directories. */
async function ourQemus(): Promise<number[]> {
  const pids: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      if (cmd.startsWith("qemu-system") && cmd.includes(`${CACHE}/runs/`)) pids.push(Number(e.name));
    } catch { /* gone */ }
  }
  return pids;
}

async function runDirs(): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(`${CACHE}/runs`)) out.push(e.name);
  } catch { /* none yet */ }
  return out.sort();
}

async function assertNoLeftovers(before: string[]): Promise<void> {
  assertEquals(await ourQemus(), [], "qemu still running");
  assertEquals(await runDirs(), before, "run directory left behind");
}

guestTest("guest: runs the command on the Debian kernel; stdout, stderr and exit status come back", async () => {
  const before = await runDirs();
  const out = await new Deno.Command(GUEST, {
    args: [
      "run",
      "-t",
      String(120 * TIME_SCALE),
      "-e",
      "NT_X=a b'c",
      "--",
      "bash",
      "-c",
      'uname -r; echo "$NT_X"; echo oops >&2; exit 7',
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
  assertEquals(out.code, 7, stderr);
  const [release, value] = stdout.trim().split("\n");
  assertMatch(release, /^6\.\d+\.\d+/);
  assert(release !== Deno.osRelease(), `the guest runs the host's kernel ${release}`);
  assertEquals(value, "a b'c");
  assertMatch(stderr, /^oops$/m);
  assert(!stdout.includes("oops"), "stderr leaked into stdout");
  await assertNoLeftovers(before);
});

guestTest("guest: a run over its time limit exits 124 and leaves nothing", async () => {
  const before = await runDirs();
  // long enough for the guest to boot and start the command, on this machine
  const limit = 25 * TIME_SCALE;
  const out = await new Deno.Command(GUEST, {
    args: ["run", "-t", String(limit), "--", "bash", "-c", "echo begun; sleep 600"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 124, dec.decode(out.stderr));
  assertMatch(dec.decode(out.stdout), /^begun$/m);
  assertMatch(dec.decode(out.stderr), new RegExp(`time limit of ${limit}s reached`));
  await assertNoLeftovers(before);
});

guestTest("guest: Ctrl-C (SIGINT) while the command runs exits 130 and leaves nothing", async () => {
  const before = await runDirs();
  const child = new Deno.Command(GUEST, {
    args: ["run", "-t", String(300 * TIME_SCALE), "--", "bash", "-c", "echo begun; sleep 600"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("begun")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  assert(text.includes("begun"), "the command never started");
  assert((await ourQemus()).length === 1, "no qemu while the command runs");
  child.kill("SIGINT");
  const status = await child.status;
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  assertEquals(status.code, 130);
  await assertNoLeftovers(before);
});
