/**
 * What a drop line says of its cause on the running kernel, decided without
 * nettrace: kernels from 5.17 name the reason in the kfree_skb tracepoint (a
 * `reason` field in its format file) and nettrace shows "reason: NAME, ";
 * older ones (Debian 11's 5.10) do not, and the line has the location only.
 */

let reports: boolean | undefined;

/** Whether the kfree_skb tracepoint of this kernel carries a drop reason. */
export function kernelReportsDropReasons(): boolean {
  if (reports !== undefined) return reports;
  for (const dir of ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]) {
    let format: string;
    try {
      format = Deno.readTextFileSync(`${dir}/events/skb/kfree_skb/format`);
    } catch {
      continue;
    }
    return reports = /\bfield:[^;]*\breason;/.test(format);
  }
  throw new Error("no skb/kfree_skb format in tracefs: mount it (mount -t tracefs tracefs /sys/kernel/tracing)");
}

/** The reason column of a drop for `name`, as regex source: "reason: NAME, ", or nothing where there are none. */
export function reasonColumn(name: string): string {
  return kernelReportsDropReasons() ? `reason: ${name}, ` : "";
}

/**
 * A netfilter drop's cause, as regex source: NETFILTER_DROP and a location; before drop reasons, the
 * location where the verdict frees the packet (nf_hook_slow).
 */
export function netfilterDropCause(): string {
  return kernelReportsDropReasons() ? "reason: NETFILTER_DROP, \\S+\\+0x" : "nf_hook_slow\\+0x";
}

/** The drop line of a SYN from withNet's first host to port 9 of its second, where nothing listens. */
export function closedPortSynDrop(): RegExp {
  return new RegExp(
    `TCP: 10\\.231\\.0\\.1:\\d+ -> 10\\.231\\.0\\.2:9 seq:\\d+, ack:0, flags:S, ${
      reasonColumn("NO_SOCKET")
    }tcp_v4_rcv\\+0x`,
  );
}
