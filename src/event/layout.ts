/**
 * Byte layout of the structs shared with the BPF programs (bpf/include/nettrace.h).
 * Checked against the compiled object's BTF by test/kernel/layout.test.ts.
 * @module
 */

/** struct nt_packet, at PACKET within struct nt_event. */
export const PACKET = {
  l3_proto: 0,
  l3_len: 2,
  l4_len: 3,
  l4_proto: 4,
  l3: 8,
  l4: 48,
  size: 68,
} as const;

/** Sizes of the copied header areas. */
export const L3_MAX = 40;
export const L4_MAX = 20;

/** struct nt_event. */
export const EVENT = {
  ts: 0,
  skb: 8,
  location: 16,
  reason: 24,
  pid: 28,
  netns: 32,
  ifindex: 36,
  stack_id: 40,
  cpu: 44,
  kind: 46,
  comm: 48,
  ifname: 64,
  pkt: 80,
  ctx_id: 152,
  point: 160,
  sk_state: 164,
  opens: 165,
  nf: 166,
  size: 168,
} as const;

/** struct nt_point: a lifecycle trace point in the points map. */
export const POINT = {
  skb_offset: 0,
  skb_arg: 2,
  flags: 3,
  reason_offset: 4,
  location_offset: 6,
  sk_offset: 8,
  rst_reason_offset: 10,
  ca_state_offset: 12,
  follow_only: 14,
  rtt_point: 15,
  value_offset: 16,
  value_size: 18,
  size: 20,
} as const;

/** NT_POINT_* flags. */
export const POINT_FLAG = {
  end: 1,
  stack: 2,
  clone: 4,
  ret: 8,
  nfHook: 16,
  nfChain: 32,
  nfTable: 64,
  sock: 128,
} as const;

/** enum nt_kind. */
export const KIND = { drop: 1, life: 2, ret: 3, nf: 4, sock: 5 } as const;

/** struct nt_sock_event: an event of a socket point (kind at EVENT.kind too). */
export const SOCK_EVENT = {
  ts: 0,
  sk: 8,
  point: 16,
  pid: 20,
  netns: 24,
  rst_reason: 28,
  stack_id: 32,
  packets_out: 36,
  cpu: 40,
  family: 42,
  state: 44,
  ca_state: 45,
  kind: 46,
  comm: 48,
  saddr: 64,
  daddr: 80,
  sport: 96,
  dport: 98,
  new_ca_state: 100,
  flags: 101,
  retransmits: 102,
  backoff: 103,
  retrans_out: 104,
  lost_out: 108,
  sacked_out: 112,
  total_retrans: 116,
  snd_cwnd: 120,
  snd_ssthresh: 124,
  srtt_us: 128,
  rto: 132,
  value: 136,
  protocol: 140,
  rtt_us: 144,
  min_rtt_us: 148,
  size: 152,
} as const;

/** struct nt_rtt_conn: a connection's RTT samples (--rtt), the value of map rtt_conns (key: the socket address). */
export const RTT_CONN = {
  last_mstamp: 0,
  count: 8,
  sum_us: 16,
  min_us: 24,
  max_us: 28,
  srtt_us: 32,
  min_rtt_us: 36,
  slots: 40,
  saddr: 168,
  daddr: 184,
  sport: 200,
  dport: 202,
  family: 204,
  size: 208,
} as const;

/** struct nt_rtt_key: map rtt_conns' key, a connection (its socket's address, addresses and ports). */
export const RTT_KEY = { sk: 0, saddr: 8, daddr: 24, sport: 40, dport: 42, size: 48 } as const;

/** NT_RTT_SLOTS: log2-microsecond buckets of a connection's RTT histogram. */
export const RTT_SLOTS = 32;

/** NT_CA_NONE: no congestion state entered; NT_SOCK_* flags. */
export const CA_NONE = 255;
export const SOCK_FLAG = { undoCleared: 1, value: 2 } as const;

/** struct nt_nf_event: netfilter details sent after a lifecycle event (kind at EVENT.kind too). */
export const NF_EVENT = {
  ts: 0,
  skb: 8,
  ctx_id: 16,
  point: 24,
  pf: 28,
  hook: 29,
  n_hooks: 30,
  kind: 46,
  hooks: 48,
  table: 112,
  chain: 144,
  size: 176,
} as const;

/** struct nt_nf_where (bpf/include/netfilter_drop.h): where netfilter dropped a packet; the key of nf_drop_counts. */
export const NF_WHERE = {
  pf: 0,
  hook: 1,
  table: 8,
  chain: 40,
  size: 72,
} as const;

/** struct nt_nf_drop: a drop event's entry in nf_drops, under its skb. */
export const NF_DROP = {
  ts: 0,
  where: 8,
  size: 80,
} as const;

/** Entries of nt_nf_event.hooks, and bytes of its names. */
export const NF_HOOKS_MAX = 8;
export const NF_NAME_LEN = 32;

/** struct nt_addr_filter. */
export const ADDR_FILTER = { family: 0, addr: 4, size: 20 } as const;

/** struct nt_filter. */
export const FILTER = {
  saddr: 0,
  daddr: 20,
  addr: 40,
  sport: 60,
  dport: 62,
  port: 64,
  l3_proto: 66,
  l4_proto: 68,
  netns: 72,
  pid: 76,
  len_min: 80,
  len_max: 84,
  tcp_flags: 88,
  size: 96,
} as const;

/** enum nt_stat: slots of the per-CPU stats map. */
export const STAT = { seen: 0, lost: 1, ctxFull: 2, limited: 3, summarized: 4, stormFull: 5 } as const;

/** struct nt_storm_key: a drop's identity for --storm-limit. */
export const STORM_KEY = {
  location: 0,
  reason: 8,
  netns: 12,
  l3_proto: 16,
  dport: 18,
  l4_proto: 20,
  flowless: 21,
  saddr: 24,
  daddr: 40,
  size: 56,
} as const;

/** struct nt_storm: the counters of one key. */
export const STORM = { window_start: 0, window_count: 8, summarized: 16, born: 24, size: 32 } as const;

/** struct nt_storm_run: a CPU's repeats of one key not yet in its entry. */
export const STORM_RUN = { begin: 0, key: 8, born: 64, until: 72, summarized: 80, end: 88, size: 96 } as const;

/** struct nt_drop_count_key: what --metrics counts a drop by. */
export const DROP_COUNT_KEY = { location: 0, reason: 8, ifindex: 12, netns: 16, size: 24 } as const;

/** struct nt_drop_count_run: a CPU's drops of one key not yet in drop_counts. */
export const DROP_COUNT_RUN = { begin: 0, key: 8, count: 32, end: 40, size: 48 } as const;

/** struct nt_capture: a packet's bytes, right after its struct nt_event in the same record (-w). */
export const CAPTURE = { origlen: 0, caplen: 4, link: 6, data: 8, size: 8 + 2048 } as const;

/** NT_SNAP_MAX: the largest --snaplen. */
export const SNAP_MAX = 2048;

/** struct nt_captured_event: the scratch record an event and its bytes are sent from. */
export const CAPTURED_EVENT = { event: 0, cap: EVENT.size, size: EVENT.size + CAPTURE.size } as const;
