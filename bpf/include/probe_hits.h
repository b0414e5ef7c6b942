/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The capability probes' counters (probe.bpf.c, probe_bare.bpf.c): [0] calls
 * that carried the probe's own datagram, [1] calls of any skb. Read by
 * src/kernel/capabilities.ts; the bare probe only counts [1].
 */
#ifndef NETTRACE_PROBE_HITS_H
#define NETTRACE_PROBE_HITS_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline void nt_hit(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &which);

	if (v)
		__sync_fetch_and_add(v, 1);
}

#endif
