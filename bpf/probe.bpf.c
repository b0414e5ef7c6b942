// SPDX-License-Identifier: GPL-2.0
/*
 * Tiny programs, one per attach kind: the capability probe loads and attaches
 * each on its own to learn what really works on the running kernel, then
 * sends one UDP datagram over loopback and reads whether the program saw it.
 * Targets (kernel function, tracepoint) are chosen at run time.
 */
#include "kernel.h"
#include "nettrace.h"
#include "skb_packet.h"
#include "func_args.h"

/* Matches the probe's own datagram (set before load). */
const volatile struct nt_filter filter = {};

#include "probe_hits.h"

static __always_inline int nt_saw(struct sk_buff *skb)
{
	const struct nt_skb *fields;
	struct nt_packet pkt;

	nt_hit(1);
	fields = nt_skb_read(skb);
	if (!fields)
		return 0;
	nt_read_packet(fields, &pkt);
	if (nt_packet_match(&filter, &pkt))
		nt_hit(0);
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int nt_probe_tp(struct trace_event_raw_kfree_skb *ctx) { return nt_saw(ctx->skbaddr); }

SEC("raw_tracepoint/kfree_skb")
int nt_probe_raw(struct bpf_raw_tracepoint_args *ctx) { return nt_saw((struct sk_buff *)ctx->args[0]); }

SEC("tp_btf/kfree_skb")
int nt_probe_tpbtf(__u64 *ctx) { return nt_saw((struct sk_buff *)ctx[0]); }

/* Function probes go on a receive function whose first argument is the skb. */
SEC("kprobe")
int nt_probe_kp(struct pt_regs *ctx) { return nt_saw((struct sk_buff *)nt_kprobe_arg(ctx, 0)); }

/* A return probe has no arguments: it counts returns. */
SEC("kretprobe")
int nt_probe_krp(void *ctx)
{
	nt_hit(1);
	return 0;
}

SEC("kprobe.multi")
int nt_probe_kpm(struct pt_regs *ctx) { return nt_saw((struct sk_buff *)nt_kprobe_arg(ctx, 0)); }

SEC("fentry")
int nt_probe_fentry(void *ctx) { return nt_saw((struct sk_buff *)nt_fentry_arg(ctx, 0)); }

SEC("fexit")
int nt_probe_fexit(void *ctx) { return nt_saw((struct sk_buff *)nt_fentry_arg(ctx, 0)); }

char LICENSE[] SEC("license") = "GPL";
