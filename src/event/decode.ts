/**
 * Decoding one ring buffer record (struct nt_event) into a typed event.
 * Pure: works on any DataView, so tests feed it recorded bytes.
 * @module
 */
import type { RawPacket } from "../packet/decode.ts";
import { EVENT, L3_MAX, L4_MAX, NF_EVENT, NF_HOOKS_MAX, NF_NAME_LEN, PACKET } from "./layout.ts";

/** One event from the kernel. Addresses are bigint (kernel pointers exceed 2^53). */
export interface KernelEvent {
  /** bpf_ktime_get_ns(), nanoseconds since boot */
  tsNs: number;
  skb: bigint;
  location: bigint;
  reason: number;
  pid: number;
  netns: number;
  ifindex: number;
  stackId: number;
  cpu: number;
  kind: number;
  comm: string;
  ifname: string;
  packet: RawPacket;
  /** lifecycle: the context the skb belongs to */
  ctxId: bigint;
  /** lifecycle: index of the trace point */
  point: number;
  /** lifecycle: the state of the skb's socket (1 ESTABLISHED ... 12 NEW_SYN_RECV), 0 when it has none */
  skState: number;
  /** lifecycle --ret: the function's return value, once its return was seen */
  ret?: bigint;
  /** lifecycle: netfilter details, at netfilter functions */
  nf?: NetfilterInfo;
}

/** What the kernel tells at a netfilter function (struct nt_nf_event). */
export interface NetfilterInfo {
  /** NFPROTO_*: 2 ipv4, 10 ipv6, 7 bridge, 3 arp, 1 inet, 5 netdev */
  pf: number;
  /** NF_INET_*: 0 PRE_ROUTING, 1 LOCAL_IN, 2 FORWARD, 3 LOCAL_OUT, 4 POST_ROUTING */
  hook: number;
  /** nf_hook_slow: addresses of the hook functions registered on this hook, in order */
  hooks: bigint[];
  /** table name (nft_do_chain_*, ipt_do_table), "" when unknown */
  table: string;
  /** nft chain name, "" when unknown */
  chain: string;
}

/** A netfilter record: which event it belongs to, and the details. */
export interface NetfilterEvent {
  tsNs: number;
  skb: bigint;
  ctxId: bigint;
  point: number;
  info: NetfilterInfo;
}

const latin1 = new TextDecoder("latin1");

function cString(view: DataView, off: number, max: number): string {
  let end = 0;
  while (end < max && view.getUint8(off + end) !== 0) end++;
  return latin1.decode(new Uint8Array(view.buffer, view.byteOffset + off, end));
}

/** Copies the headers out of the record (the record memory is reused by the kernel). */
function readPacket(view: DataView, off: number): RawPacket {
  const l3Len = Math.min(view.getUint8(off + PACKET.l3_len), L3_MAX);
  const l4Len = Math.min(view.getUint8(off + PACKET.l4_len), L4_MAX);
  const base = view.byteOffset + off;
  return {
    l3Proto: view.getUint16(off + PACKET.l3_proto, true),
    l4Proto: view.getUint8(off + PACKET.l4_proto),
    l3: new Uint8Array(view.buffer.slice(base + PACKET.l3, base + PACKET.l3 + l3Len)),
    l4: new Uint8Array(view.buffer.slice(base + PACKET.l4, base + PACKET.l4 + l4Len)),
  };
}

/** The kind of the record at view[off] (nt_event and nt_nf_event keep it at the same offset). */
export function recordKind(view: DataView, off: number): number {
  return view.getUint16(off + EVENT.kind, true);
}

/** Decodes the struct nt_nf_event at view[off]. Throws when the record is too short. */
export function decodeNetfilter(view: DataView, off: number, size: number): NetfilterEvent {
  if (size < NF_EVENT.size) throw new Error(`netfilter record of ${size} bytes, expected ${NF_EVENT.size}`);
  const n = Math.min(view.getUint8(off + NF_EVENT.n_hooks), NF_HOOKS_MAX);
  const hooks: bigint[] = [];
  for (let i = 0; i < n; i++) hooks.push(view.getBigUint64(off + NF_EVENT.hooks + 8 * i, true));
  return {
    tsNs: view.getUint32(off + NF_EVENT.ts + 4, true) * 4294967296 + view.getUint32(off + NF_EVENT.ts, true),
    skb: view.getBigUint64(off + NF_EVENT.skb, true),
    ctxId: view.getBigUint64(off + NF_EVENT.ctx_id, true),
    point: view.getUint32(off + NF_EVENT.point, true),
    info: {
      pf: view.getUint8(off + NF_EVENT.pf),
      hook: view.getUint8(off + NF_EVENT.hook),
      hooks,
      table: cString(view, off + NF_EVENT.table, NF_NAME_LEN),
      chain: cString(view, off + NF_EVENT.chain, NF_NAME_LEN),
    },
  };
}

/** Decodes the struct nt_event at view[off]. Throws when the record is too short. */
export function decodeEvent(view: DataView, off: number, size: number): KernelEvent {
  if (size < EVENT.size) throw new Error(`event record of ${size} bytes, expected ${EVENT.size}`);
  const ts = view.getUint32(off + EVENT.ts + 4, true) * 4294967296 + view.getUint32(off + EVENT.ts, true);
  return {
    tsNs: ts,
    skb: view.getBigUint64(off + EVENT.skb, true),
    location: view.getBigUint64(off + EVENT.location, true),
    reason: view.getUint32(off + EVENT.reason, true),
    pid: view.getUint32(off + EVENT.pid, true),
    netns: view.getUint32(off + EVENT.netns, true),
    ifindex: view.getUint32(off + EVENT.ifindex, true),
    stackId: view.getInt32(off + EVENT.stack_id, true),
    cpu: view.getUint16(off + EVENT.cpu, true),
    kind: view.getUint16(off + EVENT.kind, true),
    comm: cString(view, off + EVENT.comm, 16),
    ifname: cString(view, off + EVENT.ifname, 16),
    packet: readPacket(view, off + EVENT.pkt),
    ctxId: view.getBigUint64(off + EVENT.ctx_id, true),
    point: view.getUint32(off + EVENT.point, true),
    skState: view.getUint8(off + EVENT.sk_state),
  };
}
