// SPDX-License-Identifier: GPL-2.0
/*
 * The capability probe's programs for kernels without BTF: no CO-RE at all
 * (libbpf wants the kernel's BTF for any object that has CO-RE relocations;
 * vmlinux.h only gives types: no struct is read here),
 * so they only count calls while the probe's loopback datagram goes by.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "probe_hits.h"

/* [1]: calls ([0] stays 0: nothing is read of the skb here) */
static __always_inline int nt_call(void)
{
	nt_hit(1);
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int nt_bare_tp(void *ctx) { return nt_call(); }

SEC("raw_tracepoint/kfree_skb")
int nt_bare_raw(void *ctx) { return nt_call(); }

SEC("kprobe")
int nt_bare_kp(void *ctx) { return nt_call(); }

SEC("kretprobe")
int nt_bare_krp(void *ctx) { return nt_call(); }

SEC("kprobe.multi")
int nt_bare_kpm(void *ctx) { return nt_call(); }

char LICENSE[] SEC("license") = "GPL";
