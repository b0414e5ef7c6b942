/**
 * Whether this process may load BPF programs, and open perf events.
 * @module
 */

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** Effective capabilities from /proc/self/status. */
export function effectiveCapabilities(status = Deno.readTextFileSync("/proc/self/status")): bigint {
  const m = status.match(/^CapEff:\s*([0-9a-fA-F]+)/m);
  return m ? BigInt("0x" + m[1]) : 0n;
}

/** Whether capability c is in the set caps. */
const hasCap = (caps: bigint, c: bigint): boolean => ((caps >> c) & 1n) === 1n;

/** True when the capability set allows loading and attaching tracing BPF programs. */
export function canLoadBpf(caps: bigint): boolean {
  return hasCap(caps, CAP_SYS_ADMIN) || (hasCap(caps, CAP_BPF) && hasCap(caps, CAP_PERFMON));
}

/** /proc/sys/kernel/perf_event_paranoid, or undefined when it cannot be read. */
export function perfEventParanoid(
  read = () => Deno.readTextFileSync("/proc/sys/kernel/perf_event_paranoid"),
): number | undefined {
  try {
    const v = Number(read().trim());
    return Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why perf_event_open is refused to this process, or undefined. Debian's kernels add level 3 to
 * kernel.perf_event_paranoid, their default, at which only CAP_SYS_ADMIN may open a perf event: a classic tracepoint
 * cannot be attached with CAP_BPF and CAP_PERFMON alone (a systemd unit's, a pod's), a raw tracepoint can.
 */
export function perfEventsRefused(caps: bigint, paranoid: number | undefined): string | undefined {
  if (hasCap(caps, CAP_SYS_ADMIN) || paranoid === undefined || paranoid < 3) return undefined;
  return `kernel.perf_event_paranoid is ${paranoid} and this process has no CAP_SYS_ADMIN: perf events are refused`;
}

/**
 * Why libbpf may not list the kernel modules' BTF (BPF_BTF_GET_NEXT_ID needs CAP_SYS_ADMIN), or undefined. libbpf
 * 1.1 (Debian 12's) then fails any load that looks for a type or a function the kernel image does not have.
 */
export function moduleBtfsRefused(caps: bigint): string | undefined {
  return hasCap(caps, CAP_SYS_ADMIN) ? undefined : "the modules' BTF can be listed only with CAP_SYS_ADMIN";
}
