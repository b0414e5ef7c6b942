// SPDX-License-Identifier: GPL-2.0
/*
 * Tiny programs, one per attach kind: the capability probe loads and attaches
 * each on its own to learn what really works on the running kernel.
 * Targets (kernel function, tracepoint) are chosen at run time.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tracepoint/skb/kfree_skb")
int nt_probe_tp(void *ctx) { return 0; }

SEC("raw_tracepoint/kfree_skb")
int nt_probe_raw(void *ctx) { return 0; }

SEC("tp_btf/kfree_skb")
int nt_probe_tpbtf(void *ctx) { return 0; }

SEC("kprobe")
int nt_probe_kp(void *ctx) { return 0; }

SEC("kretprobe")
int nt_probe_krp(void *ctx) { return 0; }

SEC("kprobe.multi")
int nt_probe_kpm(void *ctx) { return 0; }

SEC("fentry")
int nt_probe_fentry(void *ctx) { return 0; }

SEC("fexit")
int nt_probe_fexit(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
