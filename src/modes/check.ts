/**
 * nettrace --check: prints what the running kernel supports.
 * @module
 */
import type { Options } from "../cli/options.ts";
import { formatCapabilityReport, probeCapabilities } from "../kernel/capabilities.ts";

/** Runs the capability probe and prints its report; exit status 0. */
export async function runCheck(opts: Options): Promise<number> {
  const report = await probeCapabilities(opts.btf);
  await Deno.stdout.write(new TextEncoder().encode(formatCapabilityReport(report)));
  return 0;
}
