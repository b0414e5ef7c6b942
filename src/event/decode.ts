/**
 * Decoding one ring buffer record (struct nt_event) into a typed event.
 * Pure: works on any DataView, so tests feed it recorded bytes.
 * @module
 */
import type { RawPacket } from "../packet/decode.ts";
import { formatIPv4, formatIPv6 } from "../packet/address.ts";
import {
  CA_NONE,
  EVENT,
  L3_MAX,
  L4_MAX,
  NF_EVENT,
  NF_HOOKS_MAX,
  NF_NAME_LEN,
  NF_WHERE,
  PACKET,
  SOCK_EVENT,
  SOCK_FLAG,
} from "./layout.ts";
import { kernelString } from "./kernel_string.ts";

/** One event from the kernel. Addresses are bigint (kernel pointers exceed 2^53). */
export interface KernelEvent {
  /** bpf_ktime_get_ns(), nanoseconds since boot */
  readonly tsNs: number;
  readonly skb: bigint;
  readonly location: bigint;
  readonly reason: number;
  readonly pid: number;
  readonly netns: number;
  readonly ifindex: number;
  readonly stackId: number;
  readonly cpu: number;
  readonly kind: number;
  readonly comm: string;
  readonly ifname: string;
  readonly packet: RawPacket;
  /** lifecycle: the context the skb belongs to */
  readonly ctxId: bigint;
  /** lifecycle: index of the trace point */
  readonly point: number;
  /** lifecycle: the state of the skb's socket (1 ESTABLISHED ... 12 NEW_SYN_RECV), 0 when it has none */
  readonly skState: number;
  /**
   * lifecycle: this event opened its context, the kernel's word (nt_identify in life.bpf.c): the first event
   * of a packet, or of a new packet at the address of one whose end was not seen
   */
  readonly opensContext: boolean;
  /** drop: netfilter dropped it, and the kernel kept where (table, chain, hook) for this event (map nf_drops) */
  readonly netfilterDrop: boolean;
  /** lifecycle --ret: the function's return value, once its return was seen */
  readonly ret?: bigint;
  /** when the function returned (the return record's time), with ret */
  readonly retNs?: number;
  /** lifecycle: netfilter details, at netfilter functions */
  readonly nf?: NetfilterInfo;
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

/** What the kernel tells at a socket point (struct nt_sock_event): the connection and its TCP counters. */
export interface SocketEvent {
  tsNs: number;
  /** socket address */
  sk: bigint;
  /** index of the trace point */
  point: number;
  pid: number;
  netns: number;
  /** a reset's reason (enum sk_rst_reason, kernels 6.10 and later), 0 when none */
  rstReason: number;
  stackId: number;
  cpu: number;
  comm: string;
  /** 4 or 6 (an IPv4-mapped IPv6 socket is 4) */
  family: 4 | 6;
  /** local address and port (as the socket sends) */
  saddr: string;
  sport: number;
  /** remote address and port */
  daddr: string;
  dport: number;
  /** sk_state (1 ESTABLISHED ... 12 NEW_SYN_RECV) */
  state: number;
  /** icsk_ca_state when the event fired (0 Open ... 4 Loss) */
  caState: number;
  /** tcp_cong_state_set: the congestion state entered */
  newCaState?: number;
  /** tp->undo_marker was 0: a window reduction was undone, or none is pending */
  undoCleared: boolean;
  /** icsk_retransmits: retransmission timeouts without progress */
  retransmits: number;
  backoff: number;
  packetsOut: number;
  retransOut: number;
  lostOut: number;
  sackedOut: number;
  totalRetrans: number;
  sndCwnd: number;
  ssthresh: number;
  srttUs: number;
  /** icsk_rto in jiffies */
  rtoJiffies: number;
  /** sk_protocol (6 TCP, 17 UDP, ...) */
  protocol: number;
  /** the point's value (a record field or an argument), its low 32 bits as the kernel read them: see pointValue */
  rawValue?: number;
  /** TCP: the RTT of the segment acknowledged last, and the connection's minimum RTT (0: none yet) */
  rttUs: number;
  minRttUs: number;
}

/** Copies the headers out of the record (the record memory is reused by the kernel). */
function readPacket(view: DataView, off: number): RawPacket {
  const l3Len = Math.min(view.getUint8(off + PACKET.l3_len), L3_MAX);
  const l4Len = Math.min(view.getUint8(off + PACKET.l4_len), L4_MAX);
  const base = view.byteOffset + off;
  // one copy of both headers (the ring's memory is reused), two views of it
  const headers = new Uint8Array(view.buffer.slice(base + PACKET.l3, base + PACKET.l4 + L4_MAX));
  const l4At = PACKET.l4 - PACKET.l3;
  return {
    l3Proto: view.getUint16(off + PACKET.l3_proto, true),
    l4Proto: view.getUint8(off + PACKET.l4_proto),
    l3: headers.subarray(0, l3Len),
    l4: headers.subarray(l4At, l4At + l4Len),
  };
}

/** The kind of the record at view[off] (nt_event, nt_nf_event and nt_sock_event keep it at the same offset). */
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
      table: kernelString(view, off + NF_EVENT.table, NF_NAME_LEN),
      chain: kernelString(view, off + NF_EVENT.chain, NF_NAME_LEN),
    },
  };
}

/** Decodes a struct nt_nf_where (netfilter_drop.h) at view[off]: where netfilter dropped a packet. */
export function decodeNetfilterWhere(view: DataView, off: number): NetfilterInfo {
  return {
    pf: view.getUint8(off + NF_WHERE.pf),
    hook: view.getUint8(off + NF_WHERE.hook),
    hooks: [],
    table: kernelString(view, off + NF_WHERE.table, NF_NAME_LEN),
    chain: kernelString(view, off + NF_WHERE.chain, NF_NAME_LEN),
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
    comm: kernelString(view, off + EVENT.comm, 16),
    ifname: kernelString(view, off + EVENT.ifname, 16),
    packet: readPacket(view, off + EVENT.pkt),
    ctxId: view.getBigUint64(off + EVENT.ctx_id, true),
    point: view.getUint32(off + EVENT.point, true),
    skState: view.getUint8(off + EVENT.sk_state),
    opensContext: view.getUint8(off + EVENT.opens) !== 0,
    netfilterDrop: view.getUint8(off + EVENT.nf) !== 0,
  };
}

/** Decodes the struct nt_sock_event at view[off]. Throws when the record is too short. */
export function decodeSocket(view: DataView, off: number, size: number): SocketEvent {
  if (size < SOCK_EVENT.size) throw new Error(`socket record of ${size} bytes, expected ${SOCK_EVENT.size}`);
  const u8 = (k: keyof typeof SOCK_EVENT) => view.getUint8(off + SOCK_EVENT[k]);
  const u16 = (k: keyof typeof SOCK_EVENT) => view.getUint16(off + SOCK_EVENT[k], true);
  const u32 = (k: keyof typeof SOCK_EVENT) => view.getUint32(off + SOCK_EVENT[k], true);
  const family = u16("family") === 10 ? 6 : 4;
  const bytes = new Uint8Array(view.buffer, view.byteOffset + off, SOCK_EVENT.size);
  const addr = (at: number) => (family === 4 ? formatIPv4(bytes, at) : formatIPv6(bytes, at));
  const newCa = u8("new_ca_state");
  return {
    tsNs: view.getUint32(off + SOCK_EVENT.ts + 4, true) * 4294967296 + view.getUint32(off + SOCK_EVENT.ts, true),
    sk: view.getBigUint64(off + SOCK_EVENT.sk, true),
    point: u32("point"),
    pid: u32("pid"),
    netns: u32("netns"),
    rstReason: u32("rst_reason"),
    stackId: view.getInt32(off + SOCK_EVENT.stack_id, true),
    cpu: u16("cpu"),
    comm: kernelString(view, off + SOCK_EVENT.comm, 16),
    family,
    saddr: addr(SOCK_EVENT.saddr),
    sport: u16("sport"),
    daddr: addr(SOCK_EVENT.daddr),
    dport: u16("dport"),
    state: u8("state"),
    caState: u8("ca_state"),
    newCaState: newCa === CA_NONE ? undefined : newCa,
    undoCleared: (u8("flags") & SOCK_FLAG.undoCleared) !== 0,
    retransmits: u8("retransmits"),
    backoff: u8("backoff"),
    packetsOut: u32("packets_out"),
    retransOut: u32("retrans_out"),
    lostOut: u32("lost_out"),
    sackedOut: u32("sacked_out"),
    totalRetrans: u32("total_retrans"),
    sndCwnd: u32("snd_cwnd"),
    ssthresh: u32("snd_ssthresh"),
    srttUs: u32("srtt_us"),
    rtoJiffies: u32("rto"),
    protocol: u8("protocol"),
    rttUs: u32("rtt_us"),
    minRttUs: u32("min_rtt_us"),
    ...((u8("flags") & SOCK_FLAG.value) !== 0 ? { rawValue: u32("value") } : {}),
  };
}

/** A point's value as its field holds it: rawValue (low 32 bits) cut to the field's size and sign. Pure. */
export function pointValue(rawValue: number, field: { size: number; signed: boolean }): number {
  const bits = Math.min(field.size, 4) * 8;
  const v = bits === 32 ? rawValue >>> 0 : rawValue & ((1 << bits) - 1);
  return field.signed && v >= 2 ** (bits - 1) ? v - 2 ** bits : v;
}
