/**
 * The --detail columns every event line starts with, in one order for every
 * mode: the skb (or socket) address, the point (lifecycle and sockets), CPU,
 * interface (packets), netns, pid and command.
 * @module
 */

/** What the columns show of one event. */
export interface DetailFields {
  /** skb or socket address */
  address: bigint;
  /** the trace point, padded (lifecycle and socket lines; a drop line has none) */
  point?: string;
  cpu: number;
  /** interface name ("" unknown, shown "-"); socket lines have no column */
  ifname?: string;
  netns: number;
  pid: number;
  comm: string;
}

/** `[ffff888...][point][cpu:1  ][eth0][ns:4026531840][pid:1234   ][curl] ` */
export function detailColumns(f: DetailFields): string {
  return `[${f.address.toString(16)}]${f.point === undefined ? "" : `[${f.point}]`}[cpu:${String(f.cpu).padEnd(3)}]` +
    `${f.ifname === undefined ? "" : `[${f.ifname || "-"}]`}[ns:${f.netns}][pid:${
      String(f.pid).padEnd(7)
    }][${f.comm}] `;
}
