/**
 * nettrace --check: prints what the running kernel supports, and on a kernel
 * without BTF whether compat objects were built for it.
 * @module
 */
import type { Options } from "../cli/options.ts";
import { probeCapabilities } from "../bpf/capabilities.ts";
import type { Capability, CapabilityReport } from "../kernel/capability_report.ts";
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

/**
 * The --monitor row: what it watches here. Drops, congestion states and resets come from tracepoints everywhere;
 * the retransmission timer needs a function probe, and netfilter's table and chain need fentry and fexit on its table
 * walks.
 */
export function monitorRow(attach: CapabilityReport["attach"]): Capability {
  const fn = (["fentry", "kprobe-multi", "kprobe"] as const).find((k) => attach[k].available);
  const base = "drops, congestion states and resets by tracepoints";
  if (!fn) {
    return {
      name: "monitor",
      available: true,
      detail: `${base}; no function probes: not the retransmission timer, nor netfilter's table and chain of a drop`,
    };
  }
  const named = attach.fentry.available && attach.fexit.available
    ? "netfilter's drops named by table, chain and hook (fentry/fexit on its table walks)"
    : "netfilter's drops not named by table and chain (that needs fentry and fexit)";
  return { name: "monitor", available: true, detail: `${base}; the retransmission timer by ${fn}; ${named}` };
}

/** Runs the capability probe and prints its report; exit status 0. */
export async function runCheck(opts: Options): Promise<number> {
  const report = await probeCapabilities(opts.btf);
  const extra = [
    ...(report.btf.available ? [] : [compatRow(report.kernelRelease)]),
    expressionRow(report.btf.available),
    monitorRow(report.attach),
  ];
  await Deno.stdout.write(new TextEncoder().encode(formatCapabilityReport(report, extra)));
  return 0;
}
