/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-CPU counters every event program keeps (enum nt_stat: seen, lost,
 * contexts not stored, rate-limited), nt_count() to bump one, and
 * --rate-limit (rate_limit.h) on top of them.
 */
#ifndef NETTRACE_STATS_H
#define NETTRACE_STATS_H

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void nt_count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1;
}

const volatile __u32 rate_limit = 0;   /* events per second per CPU, 0 = off */
#include "rate_limit.h"

#endif
