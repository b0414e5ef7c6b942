/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --metrics: every drop that passes the filter is counted by reason,
 * location, device and netns in the `drop_counts` map, before the storm
 * limit and the rate limit (the counts are every drop, shown or not). The map
 * is bounded: a drop whose key finds it full is added to the all-zero key,
 * which nettrace stores before attaching and reports as "other". Needs
 * nettrace.h and kernel.h.
 */
#ifndef NETTRACE_DROP_COUNTS_H
#define NETTRACE_DROP_COUNTS_H

const volatile bool count_drops = false;

/* What a drop is counted by. */
struct nt_drop_count_key {
	__u64 location;
	__u32 reason;
	__u32 ifindex;
	__u32 netns;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);      /* resized before load; 1 without --metrics */
	__type(key, struct nt_drop_count_key);
	__type(value, __u64);
} drop_counts SEC(".maps");

static __always_inline void nt_count_drop(const struct nt_skb *skb, __u32 netns, __u32 reason, __u64 location)
{
	struct nt_drop_count_key key = {};
	struct net_device *dev = skb->dev;
	__u64 one = 1, *c;

	if (!count_drops)
		return;
	key.location = location;
	key.reason = reason;
	key.netns = netns;
	key.ifindex = dev ? NT_READ(dev, ifindex) : 0;
	c = bpf_map_lookup_elem(&drop_counts, &key);
	if (!c) {
		if (!bpf_map_update_elem(&drop_counts, &key, &one, BPF_NOEXIST))
			return;
		/* another CPU stored it meanwhile, or the map is full: then "other", the zero key */
		c = bpf_map_lookup_elem(&drop_counts, &key);
		if (!c) {
			__builtin_memset(&key, 0, sizeof(key));
			c = bpf_map_lookup_elem(&drop_counts, &key);
		}
		if (!c)
			return;
	}
	__sync_fetch_and_add(c, 1);
}

#endif
