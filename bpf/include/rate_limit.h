/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --rate-limit: at most rate_limit events per second on each CPU; the rest
 * are counted (NT_STAT_LIMITED) and not sent. Included by stats.h, which
 * gives nt_count() and `const volatile __u32 rate_limit` (0 = off).
 */
#ifndef NETTRACE_RATE_LIMIT_H
#define NETTRACE_RATE_LIMIT_H

struct nt_rate {
	__u64 window_start;
	__u64 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_rate);
} rate SEC(".maps");

/* Whether one more event may be sent on this CPU now. */
static __always_inline bool nt_rate_allows(__u32 limit)
{
	__u32 zero = 0;
	struct nt_rate *r;
	__u64 now;

	if (!limit)
		return true;
	r = bpf_map_lookup_elem(&rate, &zero);
	if (!r)
		return true;
	now = bpf_ktime_get_ns();
	if (now - r->window_start >= 1000000000ULL) {
		r->window_start = now;
		r->count = 0;
	}
	if (r->count >= limit)
		return false;
	r->count++;
	return true;
}

#endif
