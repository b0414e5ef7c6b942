// SPDX-License-Identifier: GPL-2.0
/*
 * nettrace --drop: one event per skb the kernel drops, filtered in the kernel,
 * sent over a ring buffer. One program per attach method; the TypeScript side
 * loads only the one it attaches (--attach-method).
 */
#include "kernel.h"
#include "nettrace.h"
#include "skb_packet.h"
#include "pcap_filter.h"
#include "func_args.h"

#define NT_FENTRY_FRAMES 6

/* Set before load by the TypeScript side. */
const volatile struct nt_filter filter = {};
const volatile bool want_stack = false;
const volatile __u32 skip_reason = 0xffffffff;  /* SKB_CONSUMED where the kernel has it */
const volatile bool tp_has_reason = true;       /* kfree_skb tracepoint has a reason argument */
const volatile __u32 skb_arg = 0;               /* kprobe/fentry: position of the skb argument */
const volatile __u32 reason_arg = NT_NO_ARG;    /* and of the reason, NT_NO_ARG when none */
const volatile __u64 drop_func_lo = 0;          /* fentry: the drop function's text, to find */
const volatile __u64 drop_func_hi = 0;          /* its caller among the stack frames */
/* Never read: puts struct nt_event into the object's BTF, against which the
 * TypeScript layout (src/event/layout.ts) is checked. */
const volatile struct nt_event nt_event_layout = {};

#include "stats.h"
#include "storm_limit.h"
#include "drop_counts.h"
#include "netfilter_drop.h"
#include "event_output.h"
#include "skb_capture.h"

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1024);      /* shrunk to 1 before load without --drop-stack */
	__type(key, __u32);
	__uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");


/* The index of the device a dropped skb was on, 0 for none. */
static __always_inline __u32 nt_drop_ifindex(struct sk_buff *skb, const struct nt_skb *fields, bool typed)
{
	struct net_device *dev = fields->dev;   /* nettrace's own struct: no CO-RE read */

	if (typed)
		return skb->dev ? skb->dev->ifindex : 0;
	return dev ? NT_READ(dev, ifindex) : 0;
}

/*
 * One drop: filter, then one event into the ring buffer. ctx is the
 * program's own context (for the stack), location the caller of the drop.
 * typed: skb is typed by BTF (tp_btf): its fields are loaded, not read with
 * helper calls (a constant at each call: the other way is compiled out).
 */
static __always_inline int nt_drop(void *ctx, struct sk_buff *skb, __u64 location, __u32 reason, bool typed)
{
	const struct nt_skb *fields;
	struct nt_packet pkt;
	struct nt_captured_event *captured = NULL;
	struct nt_nf_where *nf;
	struct nt_event *e;
	__u32 netns, ifindex;
	__u32 pid = 0;

	if (reason == skip_reason)
		return 0;
	nf = nt_nf_take(skb);
	if (filter.pid) {
		pid = bpf_get_current_pid_tgid() >> 32;
		if (pid != filter.pid)
			return 0;
	}
	if (typed) {
		fields = nt_skb_load(skb);
		if (!fields)
			return 0;
		netns = nt_skb_netns_loaded(skb);
	} else {
		fields = nt_skb_read(skb);
		if (!fields)
			return 0;
		netns = nt_skb_netns(fields);
	}
	if (filter.netns && netns != filter.netns)
		return 0;
	nt_read_packet(fields, &pkt);
	if (!nt_packet_match(&filter, &pkt) || !nt_len_match(&filter, &pkt) || !nt_pcap_match(fields))
		return 0;

	/* read once, and only when counted or sent: a summarized drop without --metrics needs none */
	ifindex = count_drops ? nt_drop_ifindex(skb, fields, typed) : 0;
	nt_count(NT_STAT_SEEN);
	nt_count_drop(ifindex, netns, reason, location);
	if (nf)
		nt_nf_count(nf, count_drops);
	if (!nt_storm_allows(&pkt, netns, reason, location))
		return 0;
	if (!nt_rate_allows(rate_limit)) {
		nt_count(NT_STAT_LIMITED);
		return 0;
	}
	/* with -w, the event and the packet's bytes are one record, filled in a scratch slot */
	if (snaplen) {
		captured = nt_capture_slot();
		e = captured ? &captured->event : NULL;
	} else {
		e = nt_out_reserve(struct nt_event);
	}
	if (!e) {
		nt_count(NT_STAT_LOST);
		return 0;
	}
	e->ts = bpf_ktime_get_ns();
	e->skb = (__u64)skb;
	e->location = location;
	e->reason = reason;
	e->pid = filter.pid ? pid : bpf_get_current_pid_tgid() >> 32;
	e->netns = netns;
	e->cpu = bpf_get_smp_processor_id();
	e->kind = NT_KIND_DROP;
	e->ctx_id = 0;
	e->point = 0;
	e->sk_state = 0;
	e->opens = 0;
	e->nf = nf != NULL;
	if (nf)
		nt_nf_keep(skb, e->ts, nf);
	__builtin_memset(e->_pad2, 0, sizeof(e->_pad2));
	e->stack_id = want_stack ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	{
		struct net_device *dev = fields->dev;

		e->ifindex = count_drops ? ifindex : nt_drop_ifindex(skb, fields, typed);
		if (dev)
			NT_READ_STR_INTO(&e->ifname, dev, name);
		else
			e->ifname[0] = 0;
	}
	__builtin_memcpy(&e->pkt, &pkt, sizeof(pkt));
	if (captured)
		nt_capture_send(ctx, captured, fields);
	else
		nt_out_submit(ctx, e);
	return 0;
}

/* --attach-method tracepoint (the default): works wherever BPF does. */
SEC("tracepoint/skb/kfree_skb")
int nt_drop_tp(struct trace_event_raw_kfree_skb *ctx)
{
	return nt_drop(ctx, ctx->skbaddr, (__u64)ctx->location, NT_KFREE_SKB_REASON(ctx), false);
}

/* --attach-method raw_tracepoint: args are (skb, location[, reason]). */
SEC("raw_tp/kfree_skb")
int nt_drop_raw(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 reason = tp_has_reason ? (__u32)ctx->args[2] : 0;

	return nt_drop(ctx, (struct sk_buff *)ctx->args[0], ctx->args[1], reason, false);
}

/* --attach-method tp_btf: the same arguments, typed by BTF. */
SEC("tp_btf/kfree_skb")
int nt_drop_tpbtf(__u64 *ctx)
{
	__u32 reason = tp_has_reason ? (__u32)ctx[2] : 0;

	return nt_drop(ctx, (struct sk_buff *)ctx[0], ctx[1], reason, true);
}

/* --attach-method kprobe: on the kernel's drop function (its name and the
 * positions of skb and reason are set before load). */
SEC("kprobe")
int nt_drop_kp(struct pt_regs *ctx)
{
	__u32 reason = reason_arg == NT_NO_ARG ? 0 : (__u32)nt_kprobe_arg(ctx, reason_arg);

	return nt_drop(ctx, (struct sk_buff *)nt_kprobe_arg(ctx, skb_arg), nt_kprobe_caller(ctx), reason, false);
}

/* --attach-method kprobe-multi: the same through one multi-function link. */
SEC("kprobe.multi")
int nt_drop_kpm(struct pt_regs *ctx)
{
	__u32 reason = reason_arg == NT_NO_ARG ? 0 : (__u32)nt_kprobe_arg(ctx, reason_arg);

	return nt_drop(ctx, (struct sk_buff *)nt_kprobe_arg(ctx, skb_arg), nt_kprobe_caller(ctx), reason, false);
}

/* --attach-method fentry: the drop function through a BPF trampoline. The
 * stack reads [this program, trampoline, drop function, caller, ...]: the
 * caller is the frame after the one inside the drop function. */
SEC("fentry")
int nt_drop_fentry(void *ctx)
{
	__u32 reason = reason_arg == NT_NO_ARG ? 0 : (__u32)nt_fentry_arg(ctx, reason_arg);
	__u64 frames[NT_FENTRY_FRAMES] = {};
	__u64 location = 0;
	int i;

	bpf_get_stack(ctx, frames, sizeof(frames), 0);
#pragma unroll
	for (i = 0; i < NT_FENTRY_FRAMES - 1; i++) {
		if (frames[i] >= drop_func_lo && frames[i] < drop_func_hi) {
			location = frames[i + 1];
			break;
		}
	}
	return nt_drop(ctx, (struct sk_buff *)nt_fentry_arg(ctx, skb_arg), location, reason, false);
}

char LICENSE[] SEC("license") = "GPL";
