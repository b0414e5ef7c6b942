/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RTT of TCP sockets: the thresholds of --tcp-rtt, --tcp-srtt (--sock),
 * --filter-srtt and --filter-minrtt (--rtt), and --rtt's histograms, one per
 * connection, kept in the kernel (map rtt_conns): nothing goes through the
 * ring for them. A sample is the RTT of the segment acknowledged last
 * (tp->rack.rtt_us) when a point (tcp:tcp_probe, tcp_rate_gen) sees a new one
 * (its rack.mstamp changed): a sample seen at both counts once. Needs
 * sock_event.h before it.
 */
#ifndef NETTRACE_SOCK_RTT_H
#define NETTRACE_SOCK_RTT_H

#define NT_RTT_SLOTS 32   /* log2 microseconds: slot i holds [2^i, 2^(i+1)) */

const volatile __u32 sock_srtt_min_us = 0;    /* --tcp-srtt, --filter-srtt: events with a smaller smoothed RTT are left out */
const volatile __u32 sock_rtt_min_us = 0;     /* --tcp-rtt: events whose last RTT sample is smaller are left out */
const volatile __u32 sock_minrtt_min_us = 0;  /* --filter-minrtt: connections with a smaller minimum RTT are left out */
const volatile bool rtt_points_only = false;  /* --monitor: the thresholds and rtt_mode hold at RTT points only */
const volatile __u8 rtt_mode = 0;             /* 0 off; 1 --rtt: histograms only; 2 --rtt-detail: each sample too */
const volatile bool rtt_histogram = false;    /* --monitor --metrics: every new sample into rtt_hist, before thresholds */

/* --monitor --metrics' RTT histogram of every connection: per CPU, slot 0 the count, 1 the sum (µs), 2 + i the
 * samples of [2^i, 2^(i+1)) µs. */
#define NT_RTT_HIST_COUNT 0
#define NT_RTT_HIST_SUM 1
#define NT_RTT_HIST_SLOT0 2
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_RTT_HIST_SLOT0 + 32);
	__type(key, __u32);
	__type(value, __u64);
} rtt_hist SEC(".maps");

/* A connection: its socket's address and its addresses and ports (a socket's
 * memory is reused by the next one: the address alone would merge them). */
struct nt_rtt_key {
	__u64 sk;
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u32 _pad;
};

/* A connection's RTT samples. */
struct nt_rtt_conn {
	__u64 last_mstamp;   /* rack.mstamp of the last sample counted */
	__u64 count;
	__u64 sum_us;
	__u32 min_us;
	__u32 max_us;
	__u32 srtt_us;       /* as of the last sample */
	__u32 min_rtt_us;
	__u32 slots[NT_RTT_SLOTS];
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);   /* the connections sampled last; an old one makes room */
	__type(key, struct nt_rtt_key);
	__type(value, struct nt_rtt_conn);
} rtt_conns SEC(".maps");

/* A new connection's entry, built off the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_rtt_conn);
} rtt_scratch SEC(".maps");

static __always_inline __u32 nt_log2(__u32 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffff) << 4; v >>= shift; r |= shift;
	shift = (v > 0xff) << 3; v >>= shift; r |= shift;
	shift = (v > 0xf) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	return r | (v >> 1);
}

/* Counts e's RTT sample in its connection's histogram; false when it is no new sample. */
static __always_inline bool nt_rtt_count(struct sock *sk, const struct nt_sock_event *e)
{
	__u64 mstamp = NT_READ((struct tcp_sock *)sk, rack.mstamp);
	__u32 zero = 0, slot = nt_log2(e->rtt_us);
	struct nt_rtt_key key = { .sk = (__u64)sk, .sport = e->sport, .dport = e->dport };
	struct nt_rtt_conn *c;

	__builtin_memcpy(key.saddr, e->saddr, sizeof(key.saddr));
	__builtin_memcpy(key.daddr, e->daddr, sizeof(key.daddr));
	c = bpf_map_lookup_elem(&rtt_conns, &key);

	if (!c) {
		struct nt_rtt_conn *init = bpf_map_lookup_elem(&rtt_scratch, &zero);

		if (!init)
			return false;
		__builtin_memset(init, 0, sizeof(*init));
		init->min_us = 0xffffffff;
		__builtin_memcpy(init->saddr, e->saddr, sizeof(init->saddr));
		__builtin_memcpy(init->daddr, e->daddr, sizeof(init->daddr));
		init->sport = e->sport;
		init->dport = e->dport;
		init->family = e->family;
		bpf_map_update_elem(&rtt_conns, &key, init, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&rtt_conns, &key);
		if (!c)
			return false;
	}
	if (c->last_mstamp == mstamp)
		return false;   /* the same acknowledgement's sample: seen */
	c->last_mstamp = mstamp;
	__sync_fetch_and_add(&c->count, 1);
	__sync_fetch_and_add(&c->sum_us, e->rtt_us);
	if (e->rtt_us < c->min_us)
		c->min_us = e->rtt_us;
	if (e->rtt_us > c->max_us)
		c->max_us = e->rtt_us;
	c->srtt_us = e->srtt_us;
	c->min_rtt_us = e->min_rtt_us;
	/* a mask the verifier sees (clang knows slot < 32 and would drop a plain one; 6.1's verifier does not) */
	asm volatile("%0 &= %1" : "+r"(slot) : "i"(NT_RTT_SLOTS - 1));
	__sync_fetch_and_add(&c->slots[slot], 1);
	return true;
}

static __always_inline void nt_rtt_hist_add(__u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&rtt_hist, &key);

	if (v)
		*v += n;
}

/* Whether a socket event passes the RTT thresholds and, in --rtt's modes, is a
 * new sample (counted here); --rtt without --rtt-detail sends none. With
 * rtt_points_only (--monitor) a point that is no RTT point passes. */
static __noinline bool nt_rtt_wanted(struct sock *sk, const struct nt_sock_event *e, __u32 rtt_point)
{
	bool fresh = false;

	if (!sk || !e)
		return false;
	if (rtt_points_only && !rtt_point)
		return true;
	if (rtt_histogram && e->rtt_us) {
		/* every new sample, whatever the thresholds: --monitor's metrics */
		fresh = nt_rtt_count(sk, e);
		if (fresh) {
			nt_rtt_hist_add(NT_RTT_HIST_COUNT, 1);
			nt_rtt_hist_add(NT_RTT_HIST_SUM, e->rtt_us);
			nt_rtt_hist_add(NT_RTT_HIST_SLOT0 + (nt_log2(e->rtt_us) & (NT_RTT_SLOTS - 1)), 1);
		}
	}
	if (sock_srtt_min_us && e->srtt_us < sock_srtt_min_us)
		return false;
	if (sock_rtt_min_us && e->rtt_us < sock_rtt_min_us)
		return false;
	if (sock_minrtt_min_us && e->min_rtt_us < sock_minrtt_min_us)
		return false;
	if (!rtt_mode)
		return true;
	if (rtt_histogram)
		return fresh && rtt_mode == 2;   /* counted above */
	if (!e->rtt_us || !nt_rtt_count(sk, e))
		return false;
	return rtt_mode == 2;
}

#endif
