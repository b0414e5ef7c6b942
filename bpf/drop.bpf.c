// SPDX-License-Identifier: GPL-2.0
/*
 * nettrace --drop: one event per skb the kernel drops, from the skb:kfree_skb
 * tracepoint, filtered in the kernel, sent over a ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "nettrace.h"
#include "skb_packet.h"

/* Set before load by the TypeScript side. */
const volatile struct nt_filter filter = {};
const volatile bool want_stack = false;
const volatile __u32 skip_reason = 0xffffffff;  /* SKB_CONSUMED where the kernel has it */
/* Never read: puts struct nt_event into the object's BTF, against which the
 * TypeScript layout (src/event/layout.ts) is checked. */
const volatile struct nt_event nt_event_layout = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);   /* resized before load (--ring-size) */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);      /* shrunk to 1 before load without --drop-stack */
	__type(key, __u32);
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

static __always_inline void nt_count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1;
}

SEC("tracepoint/skb/kfree_skb")
int nt_drop_tp(struct trace_event_raw_kfree_skb *ctx)
{
	struct sk_buff *skb = ctx->skbaddr;
	struct nt_packet pkt;
	struct nt_event *e;
	__u32 reason = 0;
	__u32 netns;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	if (bpf_core_field_exists(ctx->reason)) {
		reason = ctx->reason;
		if (reason == skip_reason)
			return 0;
	}
	if (filter.pid && pid != filter.pid)
		return 0;
	netns = nt_skb_netns(skb);
	if (filter.netns && netns != filter.netns)
		return 0;
	nt_read_packet(skb, &pkt);
	if (!nt_packet_match(&filter, &pkt))
		return 0;

	nt_count(NT_STAT_SEEN);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		nt_count(NT_STAT_LOST);
		return 0;
	}
	e->ts = bpf_ktime_get_ns();
	e->skb = (__u64)skb;
	e->location = (__u64)ctx->location;
	e->reason = reason;
	e->pid = pid;
	e->netns = netns;
	e->cpu = bpf_get_smp_processor_id();
	e->kind = NT_KIND_DROP;
	e->stack_id = want_stack ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	{
		struct net_device *dev = BPF_CORE_READ(skb, dev);

		e->ifindex = dev ? BPF_CORE_READ(dev, ifindex) : 0;
		if (dev)
			BPF_CORE_READ_STR_INTO(&e->ifname, dev, name);
		else
			e->ifname[0] = 0;
	}
	__builtin_memcpy(&e->pkt, &pkt, sizeof(pkt));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
