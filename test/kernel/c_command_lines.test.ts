/**
 * The C nettrace's command lines from its documentation
 * (test/fixtures/c_command_lines.txt), run unchanged against this kernel:
 * each begins tracing and stops cleanly on SIGINT with nothing left
 * attached, and `-t ?` lists the tree. A line whose only points
 * are functions this kernel cannot probe says so in one line (exit 2): that
 * is a fact of the machine, printed. The parsing of every line is checked
 * without a kernel in test/unit/c_options.test.ts.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { NettraceRun, runNettrace } from "../helpers/nettrace_process.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const LINES = Deno.readTextFileSync(`${ROOT}test/fixtures/c_command_lines.txt`).split("\n")
  .filter((l) => l && !l.startsWith("#"));

for (const line of LINES) {
  const argv = line.split(" ");
  kernelTest(`C command line: nettrace ${line}`, async () => {
    if (line === "-t ?") {
      const r = await runNettrace(argv);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /^link-in: /m);
      return;
    }
    // a start that fails is read whole: a kernel without the line's only points says so in one line
    const probe = await NettraceRun.start(argv, 60000).catch((e: Error) => e);
    if (probe instanceof Error) {
      assertMatch(probe.message, /\(exit 2\): nettrace: none of the \d+ chosen trace points can be attached here/);
      console.log(`this kernel cannot attach the points of '${line}': ${probe.message.split("): ")[1]?.trim()}`);
      return;
    }
    const r = await probe.stop();
    assertEquals(r.code, 0, `${line}: ${r.stderr}`);
    assert(r.stderr.includes("end trace..."), r.stderr);
    await assertNothingLeft(line);
  });
}
