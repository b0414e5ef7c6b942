/**
 * Facts of the machine that decide whether real-kernel tests can run here.
 * A test skipped for one of them says why.
 */
import { canLoadBpf, effectiveCapabilities } from "../../src/kernel/privileges.ts";

function commandExists(name: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return true;
    } catch { /* next */ }
  }
  return false;
}

/** Why real-kernel tests cannot run here, or undefined when they can. */
export function kernelTestSkipReason(): string | undefined {
  if (!canLoadBpf(effectiveCapabilities())) return "not root (no CAP_BPF/CAP_SYS_ADMIN): cannot load BPF programs";
  for (const tool of ["ip", "bpftool"]) if (!commandExists(tool)) return `'${tool}' is not installed`;
  return undefined;
}

const skip = kernelTestSkipReason();
if (skip) console.log(`real-kernel tests skipped: ${skip}`);

/**
 * Deno.test for tests that need the real kernel; ignored (with the reason printed once) when it is not usable.
 * unless: a fact of this machine that the test also needs, as why it cannot run here (undefined: it can).
 */
export function kernelTest(name: string, fn: (t: Deno.TestContext) => Promise<void>, unless?: string): void {
  if (unless && skip === undefined) console.log(`skipped here: ${name}: ${unless}`);
  Deno.test({
    name,
    ignore: skip !== undefined || unless !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

/** Whether a command is on PATH. */
export { commandExists };
