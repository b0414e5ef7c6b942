/**
 * Whether this process may load BPF programs.
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

/** True when the capability set allows loading and attaching tracing BPF programs. */
export function canLoadBpf(caps: bigint): boolean {
  const has = (c: bigint) => ((caps >> c) & 1n) === 1n;
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}
