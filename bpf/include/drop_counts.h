/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --metrics: every drop that passes the filter is counted by reason,
 * location, device and netns in the `drop_counts` map, before the storm
 * limit and the rate limit (the counts are every drop, shown or not). The map
 * is bounded: a drop whose key finds it full is added to the all-zero key,
 * which nettrace stores before attaching and reports as "other". A CPU's
 * run of drops with one key is counted in drop_count_runs first (below).
 * Needs nettrace.h and kernel.h.
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

/* This CPU's run of drops with one key not yet in drop_counts; whole when begin equals end. */
struct nt_drop_count_run {
	__u64 begin;
	struct nt_drop_count_key key;
	__u64 count;
	__u64 end;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_drop_count_run);
} drop_count_runs SEC(".maps");

/* Adds n drops to key's count in the map. */
static __always_inline void nt_drop_count_add(struct nt_drop_count_key *key, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&drop_counts, key);

	if (!c) {
		if (!bpf_map_update_elem(&drop_counts, key, &n, BPF_NOEXIST))
			return;
		/* another CPU stored it meanwhile, or the map is full: then "other", the zero key */
		c = bpf_map_lookup_elem(&drop_counts, key);
		if (!c) {
			struct nt_drop_count_key other = {};

			c = bpf_map_lookup_elem(&drop_counts, &other);
		}
		if (!c)
			return;
	}
	__sync_fetch_and_add(c, n);
}

/*
 * Counts a drop. A run of drops with one key on a CPU (a storm) adds 1 to
 * this CPU's run, without a hash lookup; a drop with another key puts the run
 * into the map and starts its own. nettrace adds the runs to the map's counts
 * when reading (src/bpf/drop_counts.ts), after the map: end moves before the
 * run goes into the map and begin after the new run is written, so that a
 * reader sees a run's drops in the run or (soon) in the map, never in both.
 */
static __always_inline void nt_count_drop(__u32 ifindex, __u32 netns, __u32 reason, __u64 location)
{
	struct nt_drop_count_key key = {};
	struct nt_drop_count_run *run;
	__u32 zero = 0;

	if (!count_drops)
		return;
	key.location = location;
	key.reason = reason;
	key.netns = netns;
	key.ifindex = ifindex;
	run = bpf_map_lookup_elem(&drop_count_runs, &zero);
	if (!run)
		return;
	if (run->count && run->key.location == key.location && run->key.reason == key.reason &&
	    run->key.ifindex == key.ifindex && run->key.netns == key.netns) {
		run->count++;
		return;
	}
	nt_run_open(run);
	if (run->count)
		nt_drop_count_add(&run->key, run->count);
	__builtin_memcpy(&run->key, &key, sizeof(key));
	run->count = 1;
	nt_run_close(run);
}

#endif
