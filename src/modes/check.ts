/**
 * nettrace --check: prints what the running kernel supports, and on a kernel
 * without BTF whether compat objects were built for it.
 * @module
 */
import type { Options } from "../cli/options.ts";
import { probeCapabilities } from "../bpf/capabilities.ts";
import type { Capability } from "../kernel/capability_report.ts";
import { formatCapabilityReport } from "../output/check_report.ts";
import { findCompatObjects } from "../bpf/compat_objects.ts";
import { compatBuildHint } from "../bpf/kernel_types.ts";
import { libpcapHere } from "../filter/expression.ts";

/** The compat objects row: found, unusable, or where they were looked for and how to build them. */
export function compatRow(release: string): Capability {
  const found = findCompatObjects(release);
  const name = "compat objects";
  if ("objects" in found) {
    return {
      name,
      available: true,
      detail: `${found.objects.dir} (built for ${release}): --drop and lifecycle tracing load them`,
    };
  }
  if ("problem" in found) return { name, available: false, detail: found.problem };
  return {
    name,
    available: false,
    detail: `none for ${release} (looked in ${found.searched.join(", ")}): build them with ${
      compatBuildHint(release)
    }, or give a BTF file with --btf`,
  };
}

/** The filter expressions row: libpcap compiles them; the objects built without BTF have no room for them. */
export function expressionRow(btf: boolean): Capability {
  const name = "filter expr";
  const pcap = libpcapHere();
  if ("missing" in pcap) return { name, available: false, detail: pcap.missing };
  if (!btf) {
    return { name, available: false, detail: `${pcap.version}; but the compat objects (no BTF) have no room for one` };
  }
  return { name, available: true, detail: `${pcap.version}: tcpdump expressions run in the kernel (-e EXPR)` };
}

/** Runs the capability probe and prints its report; exit status 0. */
export async function runCheck(opts: Options): Promise<number> {
  const report = await probeCapabilities(opts.btf);
  const extra = [
    ...(report.btf.available ? [] : [compatRow(report.kernelRelease)]),
    expressionRow(report.btf.available),
  ];
  await Deno.stdout.write(new TextEncoder().encode(formatCapabilityReport(report, extra)));
  return 0;
}
