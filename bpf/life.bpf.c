// SPDX-License-Identifier: GPL-2.0
/*
 * nettrace's default mode: the life of each matching skb. One program per
 * attach method, attached to many points; the link's cookie says which point
 * (struct nt_point in the points map). The first point that sees an skb
 * passing the filter opens a context for it (contexts map, keyed by the skb
 * address); later points follow the skb without filtering again, so a packet
 * stays followed after NAT rewrote its addresses; the point that ends the
 * skb's life closes it. Socket points (timers, congestion state, resets a
 * socket sends) have no skb: each of their events passing the filter is one
 * struct nt_sock_event.
 */
#include "kernel.h"
#include "nettrace.h"
#include "skb_packet.h"
#include "pcap_filter.h"
#include "func_args.h"

const volatile struct nt_filter filter = {};
#include "sock_event.h"
#include "sock_rtt.h"
const volatile struct nt_event nt_event_layout = {};
const volatile struct nt_point nt_point_layout = {};
const volatile struct nt_nf_event nt_nf_event_layout = {};
const volatile struct nt_sock_event nt_sock_event_layout = {};
const volatile struct nt_rtt_conn nt_rtt_conn_layout = {};
const volatile struct nt_rtt_key nt_rtt_key_layout = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NT_POINTS_MAX);
	__type(key, __u32);
	__type(value, struct nt_point);
} points SEC(".maps");

/* What identifies a packet through its life (src/packet/identity.ts says the
 * same in TypeScript): ARP or IP; a TCP segment's seq and ack; an ICMP echo's
 * type, id and sequence. NAT rewrites none of these. An skb freed where no
 * point sees it (__kfree_skb, on tracepoint-only kernels) leaves its context
 * behind; a new packet at the same address differs here, and is filtered anew
 * instead of joining it. */
enum nt_ident_kind { NT_IDENT_NONE, NT_IDENT_ARP, NT_IDENT_IP, NT_IDENT_TCP, NT_IDENT_ECHO };

struct nt_context {
	__u64 ctx_id;
	__u64 ident;
	__u32 kind;
	__u32 _pad;
	__u64 last_ts;   /* when a point last saw the packet (--latency-summary, --latency) */
};

/* skb address -> its packet's context */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct nt_context);
} contexts SEC(".maps");

static __always_inline void nt_identify(const struct nt_packet *pkt, struct nt_context *c)
{
	c->ident = 0;
	c->kind = NT_IDENT_NONE;
	if (pkt->l3_proto == 0x0806) {
		c->kind = NT_IDENT_ARP;
	} else if (pkt->l3_proto == 0x0800 || pkt->l3_proto == 0x86dd) {
		c->kind = NT_IDENT_IP;
		if (pkt->l4_proto == 6 && pkt->l4_len >= 12) {
			c->kind = NT_IDENT_TCP;
			c->ident = (__u64)pkt->l4[4] << 56 | (__u64)pkt->l4[5] << 48 | (__u64)pkt->l4[6] << 40 |
				   (__u64)pkt->l4[7] << 32 | (__u64)pkt->l4[8] << 24 | (__u64)pkt->l4[9] << 16 |
				   (__u64)pkt->l4[10] << 8 | pkt->l4[11];
		} else if (pkt->l4_len >= 8 &&
			   ((pkt->l4_proto == 1 && (pkt->l4[0] == 8 || pkt->l4[0] == 0)) ||
			    (pkt->l4_proto == 58 && (pkt->l4[0] == 128 || pkt->l4[0] == 129)))) {
			c->kind = NT_IDENT_ECHO;
			c->ident = (__u64)pkt->l4[0] << 32 | (__u64)pkt->l4[4] << 24 | (__u64)pkt->l4[5] << 16 |
				   (__u64)pkt->l4[6] << 8 | pkt->l4[7];
		}
	}
}

/* Whether a context's packet and this one cannot be the same packet: ARP against
 * IP, or the same protocol with other identifying fields. A change of protocol
 * (encapsulation, decapsulation) is not judged. */
static __always_inline bool nt_other_packet(const struct nt_context *was, const struct nt_context *now)
{
	if (was->kind == NT_IDENT_NONE || now->kind == NT_IDENT_NONE)
		return false;
	if ((was->kind == NT_IDENT_ARP) != (now->kind == NT_IDENT_ARP))
		return true;
	return was->kind == now->kind && (was->kind == NT_IDENT_TCP || was->kind == NT_IDENT_ECHO) &&
	       was->ident != now->ident;
}

/* task (pid_tgid) -> the skb it is cloning, from entry to return of the clone function */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} clone_parents SEC(".maps");

/* (task, point) -> the skb and context a --ret function was entered with */
struct nt_entry_key {
	__u64 task;
	__u32 point;
	__u32 _pad;
};

struct nt_entry {
	__u64 skb;
	__u64 ctx_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct nt_entry_key);
	__type(value, struct nt_entry);
} entries SEC(".maps");

#include "stats.h"
#include "event_output.h"
#include "skb_capture.h"

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");


/*
 * Which point fired: the attachment's cookie. Kernels before 5.15 have no
 * cookies (bpf_get_attach_cookie): there every point gets its own copy of the
 * program, whose marker instruction (v = NT_POINT_MARKER) user space rewrote
 * to the point's index (lib/ffi/point_copies.ts), and point_by_cookie is 0,
 * so the verifier drops the helper call as dead code.
 */
const volatile __u8 point_by_cookie = 1;
#define NT_POINT_MARKER 0x7e5e1d00

/* --pkt-fixed: the packet is not NATed: every point matches it against the filter, also in a known context */
const volatile bool pkt_fixed = false;

/* --func-stats: each point only counts its calls, per CPU, and sends nothing */
const volatile bool func_stats = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_POINTS_MAX);    /* resized before load to the number of points */
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

/* --latency-summary, --latency: each point's time since the packet's point before it, counted in the kernel per
 * point (count, sum, min, max in lat_stats; power-of-two microsecond buckets in lat_slots: slot 0 under 1 µs, slot i
 * [2^(i-1), 2^i) µs). lat_stats[number of points].count counts the packets (contexts opened). */
const volatile __u8 latency_mode = 0;    /* 0 off; 1 beside the events (--latency-summary); 2 --latency: ends only */
const volatile bool latency_free = false;   /* --latency-free: a free's latency counts too */
const volatile __u32 latency_packets = 0;   /* the entry of lat_stats that counts packets: the number of points */
#define NT_LAT_SLOTS 32

struct nt_latency {
	__u64 count;
	__u64 sum_ns;
	__u64 min_ns;
	__u64 max_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_POINTS_MAX + 1);    /* resized before load to the number of points + 1 */
	__type(key, __u32);
	__type(value, struct nt_latency);
} lat_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_POINTS_MAX * NT_LAT_SLOTS);    /* resized before load: points x NT_LAT_SLOTS */
	__type(key, __u32);
	__type(value, __u64);
} lat_slots SEC(".maps");

/* Counts a latency of ns at point id (or, with ns ~0, a packet opened: in the last entry of lat_stats). */
static __noinline void nt_latency_count(__u32 id, __u64 ns)
{
	struct nt_latency *l = bpf_map_lookup_elem(&lat_stats, &id);
	__u64 us = ns / 1000, *n;
	__u32 slot = 0, key;

	if (!l)
		return;
	l->count++;
	if (ns == ~0ULL)
		return;
	l->sum_ns += ns;
	if (l->count == 1 || ns < l->min_ns)
		l->min_ns = ns;
	if (ns > l->max_ns)
		l->max_ns = ns;
	for (int i = 0; i < NT_LAT_SLOTS - 1; i++) {
		if (!us)
			break;
		us >>= 1;
		slot++;
	}
	key = id * NT_LAT_SLOTS + slot;
	n = bpf_map_lookup_elem(&lat_slots, &key);
	if (n)
		*n += 1;
}

/* --func-stats: counts a call of point id; true when that is all the program does */
static __always_inline bool nt_only_counted(__u32 id)
{
	__u64 *n;

	if (!func_stats)
		return false;
	n = bpf_map_lookup_elem(&calls, &id);
	if (n)
		*n += 1;
	return true;
}

static __always_inline const struct nt_point *nt_point_of(void *ctx, __u32 *id)
{
	if (point_by_cookie) {
		*id = (__u32)bpf_get_attach_cookie(ctx);
	} else {
		__u64 v;

		asm volatile("%0 = %1" : "=r"(v) : "i"(NT_POINT_MARKER));
		*id = (__u32)v;
	}
	if (nt_only_counted(*id))
		return NULL;
	return bpf_map_lookup_elem(&points, id);
}

/* location, reason: where and why the skb was freed (the kfree_skb tracepoint), else 0 */
static __always_inline int nt_life(void *ctx, __u32 id, const struct nt_point *pt, struct sk_buff *skb,
				   __u64 location, __u32 reason)
{
	__u64 key = (__u64)skb;
	struct nt_context *known, now;
	const struct nt_skb *fields;
	__u64 ctx_id;
	__u8 opens = 0;
	struct nt_packet pkt;
	struct nt_captured_event *captured = NULL;
	struct nt_event *e;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 netns;
	__u64 ts = 0;

	if (!skb)
		return 0;
	/* the latencies are measured with the events' own timestamps; otherwise the clock is read for a sent event only */
	if (latency_mode)
		ts = bpf_ktime_get_ns();
	fields = nt_skb_read(skb);
	if (!fields)
		return 0;
	netns = nt_skb_netns(fields);
	nt_read_packet(fields, &pkt);
	nt_identify(&pkt, &now);
	known = bpf_map_lookup_elem(&contexts, &key);
	if (known && nt_other_packet(known, &now)) {
		/* another packet at the address of one whose end was not seen */
		bpf_map_delete_elem(&contexts, &key);
		known = NULL;
	}
	if (known) {
		ctx_id = known->ctx_id;
		if (known->kind == NT_IDENT_NONE && now.kind != NT_IDENT_NONE) {
			known->kind = now.kind;
			known->ident = now.ident;
		}
		if (pkt_fixed && !(nt_packet_match(&filter, &pkt) && nt_len_match(&filter, &pkt) && nt_pcap_match(fields))) {
			/* not followed where it no longer matches; its end still closes the context */
			if (pt->flags & NT_POINT_END)
				bpf_map_delete_elem(&contexts, &key);
			return 0;
		}
		if (latency_mode) {
			if (latency_free || !(pt->flags & NT_POINT_END))
				nt_latency_count(id, ts - known->last_ts);
			known->last_ts = ts;
		}
	} else {
		if (pt->flags & NT_POINT_END)
			return 0;   /* a life we did not see: nothing to close */
		if (pt->follow_only)
			return 0;   /* packets are matched against the filter at the --trace-matcher points only */
		if (filter.pid && pid != filter.pid)
			return 0;
		if (filter.netns && netns != filter.netns)
			return 0;
		if (!nt_packet_match(&filter, &pkt) || !nt_len_match(&filter, &pkt) || !nt_pcap_match(fields))
			return 0;
		ctx_id = key;
		opens = 1;
		now.ctx_id = ctx_id;
		now._pad = 0;
		now.last_ts = ts;
		if (latency_mode)
			nt_latency_count(latency_packets, ~0ULL);
		if (bpf_map_update_elem(&contexts, &key, &now, BPF_ANY))
			nt_count(NT_STAT_CTX_FULL);
	}

	nt_count(NT_STAT_SEEN);
	e = NULL;
	if (latency_mode == 2 && !(pt->flags & NT_POINT_END)) {
		/* --latency: the histograms, and only the packet's end is sent (-c counts packets) */
	} else if (!nt_rate_allows(rate_limit)) {
		nt_count(NT_STAT_LIMITED);
	} else if (snaplen && opens) {
		/* -w: a packet's bytes come with the event that opens its context, in one record */
		captured = nt_capture_slot();
		if (captured)
			e = &captured->event;
		else
			nt_count(NT_STAT_LOST);
	} else if (!(e = nt_out_reserve(struct nt_event))) {
		nt_count(NT_STAT_LOST);
	}
	if (e) {
		e->ts = latency_mode ? ts : bpf_ktime_get_ns();
		e->skb = key;
		e->location = location;
		e->reason = reason;
		e->pid = pid;
		e->netns = netns;
		e->cpu = bpf_get_smp_processor_id();
		e->kind = NT_KIND_LIFE;
		e->stack_id = (pt->flags & NT_POINT_STACK) ? bpf_get_stackid(ctx, &stacks, 0) : -1;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		{
			struct net_device *dev = fields->dev;

			e->ifindex = dev ? NT_READ(dev, ifindex) : 0;
			if (dev)
				NT_READ_STR_INTO(&e->ifname, dev, name);
			else
				e->ifname[0] = 0;
		}
		__builtin_memcpy(&e->pkt, &pkt, sizeof(pkt));
		e->ctx_id = ctx_id;
		e->point = id;
		{
			struct sock *sk = fields->sk;

			e->sk_state = sk ? NT_READ(sk, __sk_common.skc_state) : 0;
		}
		e->opens = opens;
		e->nf = 0;
		__builtin_memset(e->_pad2, 0, sizeof(e->_pad2));
		if (captured)
			nt_capture_send(ctx, captured, fields);
		else
			nt_out_submit(ctx, e);
	}
	if (pt->flags & NT_POINT_END)
		bpf_map_delete_elem(&contexts, &key);
	if (pt->flags & NT_POINT_CLONE) {
		__u64 task = bpf_get_current_pid_tgid();

		bpf_map_update_elem(&clone_parents, &task, &key, BPF_ANY);
	} else if (pt->flags & NT_POINT_RET) {
		struct nt_entry_key ek = { .task = bpf_get_current_pid_tgid(), .point = id };
		struct nt_entry ent = { .skb = key, .ctx_id = ctx_id };

		bpf_map_update_elem(&entries, &ek, &ent, BPF_ANY);
	}
	return 0;
}

/* What a socket point's tracepoint record adds: a reset's reason or the point's value (low 32 bits) and
 * the congestion state entered (bits 32-39, NT_CA_NONE: none); bit 40: the
 * caller is a function probe (fentry, kprobe), which takes the second scratch
 * slot. Every fentry copy shares the scratch maps, and a function probe (the
 * retransmission timer, in softirq) can run nested in a tracepoint program on
 * the same CPU: the two kinds must not write over each other's record. */
#define NT_SOCK_EXTRA(rst_reason, ca) ((__u64)(__u8)(ca) << 32 | (__u32)(rst_reason))
#define NT_SOCK_FROM_FUNCTION (1ULL << 40)

/* An event of a socket point: the socket's connection (filtered) and counters,
 * built in a per-CPU record and copied to the ring once it passed the filter
 * (so "seen", the rate limit and "lost" count only the socket events shown).
 * Its own BPF function: the skb path's stack is not added to its own. */
static __noinline int nt_life_sock(void *ctx, const struct nt_point *pt, struct sock *sk, __u32 id, __u64 extra)
{
	__u32 slot = (extra & NT_SOCK_FROM_FUNCTION) ? 1 : 0, pid = bpf_get_current_pid_tgid() >> 32;
	struct nt_sock_event *e = bpf_map_lookup_elem(&sock_scratch, &slot);
	__u8 new_ca_state = extra >> 32;
	__u32 netns;

	if (!sk || !e)
		return 0;
	if (filter.pid && pid != filter.pid)
		return 0;
	netns = NT_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (filter.netns && netns != filter.netns)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	nt_read_sock_tuple(sk, e);
	if (e->family != NT_AF_INET && e->family != NT_AF_INET6)
		return 0;   /* a unix or netlink socket's send (sock_send_length): no connection to show */
	/* a time-wait or request socket is no full struct sock (and only TCP has them) */
	e->state = NT_READ(sk, __sk_common.skc_state);
	e->protocol = e->state == NT_TCP_TIME_WAIT || e->state == NT_TCP_NEW_SYN_RECV ? NT_IPPROTO_TCP
										     : nt_sk_protocol(sk);
	if (!nt_sock_match(e, slot))
		return 0;
	nt_read_tcp(sk, e);
	if (new_ca_state == 0 && e->ca_state == 0)
		return 0;   /* Open to Open: a new socket's congestion control starting, nothing to tell */
	if (!nt_rtt_wanted(sk, e, pt->rtt_point))
		return 0;
	nt_count(NT_STAT_SEEN);
	if (!nt_rate_allows(rate_limit)) {
		nt_count(NT_STAT_LIMITED);
		return 0;
	}
	e->ts = bpf_ktime_get_ns();
	e->sk = (__u64)sk;
	e->point = id;
	e->pid = pid;
	e->netns = netns;
	if (pt->value_size) {
		e->value = (__u32)extra;
		e->flags |= NT_SOCK_VALUE;
	} else {
		e->rst_reason = (__u32)extra;
	}
	e->cpu = bpf_get_smp_processor_id();
	e->kind = NT_KIND_SOCK;
	e->new_ca_state = new_ca_state;
	e->stack_id = (pt->flags & NT_POINT_STACK) ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (nt_out_copy(ctx, e))
		nt_count(NT_STAT_LOST);
	return 0;
}

/* Netfilter details at a netfilter function whose skb is followed: a second
 * record after the event. arg0, arg1, arg2: the function's first arguments. */
static __always_inline void nt_life_nf(void *ctx, __u32 id, const struct nt_point *pt, struct sk_buff *skb,
				       __u64 arg0, __u64 arg1, __u64 arg2)
{
	__u64 key = (__u64)skb;
	struct nt_context *c;
	struct nt_nf_event *e;

	if (!(pt->flags & (NT_POINT_NF_HOOK | NT_POINT_NF_CHAIN | NT_POINT_NF_TABLE)))
		return;
	c = bpf_map_lookup_elem(&contexts, &key);
	if (!c)
		return;
	e = nt_out_reserve(struct nt_nf_event);
	if (!e) {
		nt_count(NT_STAT_LOST);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts = bpf_ktime_get_ns();
	e->skb = key;
	e->ctx_id = c->ctx_id;
	e->point = id;
	e->kind = NT_KIND_NF;
	if (pt->flags & NT_POINT_NF_HOOK) {
		struct nf_hook_state *state = (struct nf_hook_state *)arg1;
		struct nf_hook_entries *entries = (struct nf_hook_entries *)arg2;
		__u16 n = 0;

		e->pf = NT_READ(state, pf);
		e->hook = NT_READ(state, hook);
		if (entries)
			n = NT_READ(entries, num_hook_entries);
		if (n > NT_NF_HOOKS_MAX)
			n = NT_NF_HOOKS_MAX;
		e->n_hooks = n;
		for (int i = 0; i < NT_NF_HOOKS_MAX; i++) {
			if (i >= n)
				break;
			e->hooks[i] = (__u64)NT_READ(entries, hooks[i].hook);
		}
	} else if ((pt->flags & NT_POINT_NF_CHAIN) && NT_HAS_NFT_CHAIN) {
		/* nf_tables may be a module: without its BTF at load, this is left out */
		struct nft_chain *chain = (struct nft_chain *)arg0;
		struct nf_hook_state *state = (struct nf_hook_state *)arg2;

		e->pf = NT_READ(state, pf);
		e->hook = NT_READ(state, hook);
		bpf_probe_read_kernel_str(e->chain, sizeof(e->chain), NT_READ(chain, name));
		bpf_probe_read_kernel_str(e->table, sizeof(e->table), NT_READ(chain, table, name));
	} else if ((pt->flags & NT_POINT_NF_TABLE) && NT_HAS_XT_TABLE) {
		/* (table, skb, state) since 5.16; (skb, state, table) before */
		struct xt_table *table = (struct xt_table *)(pt->skb_arg ? arg0 : arg2);
		struct nf_hook_state *state = (struct nf_hook_state *)(pt->skb_arg ? arg2 : arg1);

		e->pf = NT_READ(state, pf);
		e->hook = NT_READ(state, hook);
		bpf_probe_read_kernel_str(e->table, sizeof(e->table), &table->name);
	}
	nt_out_submit(ctx, e);
}

/* Return of a --ret function entered with a followed skb: one small event. */
static __always_inline int nt_life_ret(void *ctx, __u32 id, __u64 retval)
{
	struct nt_entry_key ek = { .task = bpf_get_current_pid_tgid(), .point = id };
	struct nt_entry *ent = bpf_map_lookup_elem(&entries, &ek);
	struct nt_event *e;

	if (!ent)
		return 0;
	e = nt_out_reserve(struct nt_event);
	if (!e) {
		nt_count(NT_STAT_LOST);
	} else {
		__builtin_memset(e, 0, sizeof(*e));
		e->ts = bpf_ktime_get_ns();
		e->skb = ent->skb;
		e->ctx_id = ent->ctx_id;
		e->location = retval;
		e->point = id;
		e->kind = NT_KIND_RET;
		e->stack_id = -1;
		e->cpu = bpf_get_smp_processor_id();
		nt_out_submit(ctx, e);
	}
	bpf_map_delete_elem(&entries, &ek);
	return 0;
}

/* Return of a clone function: the new skb joins the parent's context. Return
 * of a --ret function: its value. */
static __always_inline int nt_life_return(void *ctx, __u32 id, const struct nt_point *pt, __u64 rc)
{
	__u64 task = bpf_get_current_pid_tgid();
	__u64 *parent;
	struct nt_context *c, clone;
	__u64 new_skb = rc;

	if (!(pt->flags & NT_POINT_CLONE))
		return (pt->flags & NT_POINT_RET) ? nt_life_ret(ctx, id, rc) : 0;
	parent = bpf_map_lookup_elem(&clone_parents, &task);
	if (!parent)
		return 0;
	c = bpf_map_lookup_elem(&contexts, parent);
	bpf_map_delete_elem(&clone_parents, &task);
	if (!c || !new_skb)
		return 0;
	clone = *c;
	bpf_map_update_elem(&contexts, &new_skb, &clone, BPF_ANY);
	return nt_life(ctx, id, pt, (struct sk_buff *)new_skb, 0, 0);
}

/* A socket point's tracepoint: the socket address is a field of the record. A
 * record that also has an skb (tcp_send_reset) is the skb point's, not this one's. */
static __always_inline int nt_life_sock_tp(void *ctx, __u32 id, const struct nt_point *pt)
{
	__u64 sk = 0, skb = 0;
	__u32 rst_reason = 0;
	__u8 ca = NT_CA_NONE;

	if (pt->skb_offset) {
		bpf_probe_read_kernel(&skb, sizeof(skb), (char *)ctx + (pt->skb_offset & 0xff8));
		if (skb)
			return 0;
	}
	bpf_probe_read_kernel(&sk, sizeof(sk), (char *)ctx + (pt->sk_offset & 0xff8));
	if (pt->value_size)
		bpf_probe_read_kernel(&rst_reason, sizeof(rst_reason), (char *)ctx + (pt->value_offset & 0xfff));
	else if (pt->rst_reason_offset)
		bpf_probe_read_kernel(&rst_reason, sizeof(rst_reason), (char *)ctx + (pt->rst_reason_offset & 0xffc));
	if (pt->ca_state_offset)
		bpf_probe_read_kernel(&ca, sizeof(ca), (char *)ctx + (pt->ca_state_offset & 0xfff));
	return nt_life_sock(ctx, pt, (struct sock *)sk, id, NT_SOCK_EXTRA(rst_reason, ca));
}

/* Tracepoints: the skb address is a field of the record. */
static __always_inline int nt_life_tracepoint(void *ctx)
{
	const struct nt_point *pt;
	__u64 skb = 0, location = 0;
	__u32 id, reason = 0;

	pt = nt_point_of(ctx, &id);
	if (!pt)
		return 0;
	if (pt->flags & NT_POINT_SOCK)
		return nt_life_sock_tp(ctx, id, pt);
	bpf_probe_read_kernel(&skb, sizeof(skb), (char *)ctx + (pt->skb_offset & 0xff8));
	if (pt->reason_offset)
		bpf_probe_read_kernel(&reason, sizeof(reason), (char *)ctx + (pt->reason_offset & 0xffc));
	if (pt->location_offset)
		bpf_probe_read_kernel(&location, sizeof(location), (char *)ctx + (pt->location_offset & 0xff8));
	return nt_life(ctx, id, pt, (struct sk_buff *)skb, location, reason);
}

SEC("tracepoint")
int nt_life_tp(void *ctx)
{
	return nt_life_tracepoint(ctx);
}

/* The same for a second point on a tracepoint nt_life_tp already has (the
 * kernel takes a program once per tracepoint): tcp_send_reset is the skb
 * point tcp_send_reset and the socket point tcp_send_active_reset. */
SEC("tracepoint")
int nt_life_tp2(void *ctx)
{
	return nt_life_tracepoint(ctx);
}

/* A function entered, seen through a kprobe or kprobe-multi (the cookie names the point): the skb is an argument. */
static __always_inline int nt_life_kprobe(struct pt_regs *ctx)
{
	const struct nt_point *pt;
	struct sk_buff *skb;
	__u32 id;

	pt = nt_point_of(ctx, &id);
	if (!pt)
		return 0;
	if (pt->flags & NT_POINT_SOCK)
		return nt_life_sock(ctx, pt, (struct sock *)nt_kprobe_arg(ctx, pt->skb_arg), id,
				    NT_SOCK_EXTRA(pt->value_size ? nt_kprobe_arg(ctx, pt->value_offset) : 0,
						  pt->ca_state_offset ? nt_kprobe_arg(ctx, pt->ca_state_offset - 1) : NT_CA_NONE) |
				    NT_SOCK_FROM_FUNCTION);
	skb = (struct sk_buff *)nt_kprobe_arg(ctx, pt->skb_arg);

	nt_life(ctx, id, pt, skb, 0, 0);
	nt_life_nf(ctx, id, pt, skb, nt_kprobe_arg(ctx, 0), nt_kprobe_arg(ctx, 1), nt_kprobe_arg(ctx, 2));
	return 0;
}

/* A function's return seen through a kretprobe or kretprobe-multi (the cookie names the point). */
static __always_inline int nt_life_kretprobe(struct pt_regs *ctx)
{
	const struct nt_point *pt;
	__u32 id;

	pt = nt_point_of(ctx, &id);
	return pt ? nt_life_return(ctx, id, pt, PT_REGS_RC(ctx)) : 0;
}

/* Kernel functions through kprobes: the skb is an argument. */
SEC("kprobe")
int nt_life_kp(struct pt_regs *ctx)
{
	return nt_life_kprobe(ctx);
}

/* The same through one kprobe-multi link for all functions. */
SEC("kprobe.multi")
int nt_life_kpm(struct pt_regs *ctx)
{
	return nt_life_kprobe(ctx);
}

/* Returns of clone and --ret functions through kretprobes... */
SEC("kretprobe")
int nt_life_krp(struct pt_regs *ctx)
{
	return nt_life_kretprobe(ctx);
}

/* ...or through one kretprobe-multi link... */
SEC("kretprobe.multi")
int nt_life_krpm(struct pt_regs *ctx)
{
	return nt_life_kretprobe(ctx);
}

/* Kernel functions through BPF trampolines: fentry at entry... The target is
 * fixed at load: the same instructions are loaded once per function (after
 * this object's load has relocated them), and the link's cookie names the
 * point (kernel 5.19+). */
SEC("fentry")
int nt_life_fentry(void *ctx)
{
	struct sk_buff *skb;
	__u32 id = (__u32)bpf_get_attach_cookie(ctx);
	const struct nt_point *pt;

	if (nt_only_counted(id))
		return 0;
	pt = bpf_map_lookup_elem(&points, &id);
	if (!pt)
		return 0;
	if (pt->flags & NT_POINT_SOCK)
		return nt_life_sock(ctx, pt, (struct sock *)nt_fentry_arg(ctx, pt->skb_arg), id,
				    NT_SOCK_EXTRA(pt->value_size ? nt_fentry_arg(ctx, pt->value_offset) : 0,
						  pt->ca_state_offset ? nt_fentry_arg(ctx, pt->ca_state_offset - 1) : NT_CA_NONE) |
				    NT_SOCK_FROM_FUNCTION);
	skb = (struct sk_buff *)nt_fentry_arg(ctx, pt->skb_arg);
	nt_life(ctx, id, pt, skb, 0, 0);
	nt_life_nf(ctx, id, pt, skb, nt_fentry_arg(ctx, 0), nt_fentry_arg(ctx, 1), nt_fentry_arg(ctx, 2));
	return 0;
}

/* ...and fexit for clone and --ret functions. */
SEC("fexit")
int nt_life_fexit(void *ctx)
{
	__u32 id = (__u32)bpf_get_attach_cookie(ctx);
	const struct nt_point *pt = bpf_map_lookup_elem(&points, &id);
	__u64 rc = 0;

	if (!pt)
		return 0;
	bpf_get_func_ret(ctx, &rc);
	return nt_life_return(ctx, id, pt, rc);
}

char LICENSE[] SEC("license") = "GPL";
