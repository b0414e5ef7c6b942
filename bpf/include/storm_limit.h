/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --storm-limit: a drop storm summarized in the kernel instead of sent. The
 * same drop (netns, reason, location, protocol, addresses, destination port)
 * is sent at most storm_limit times a second; its repeats only add to a
 * counter in the `storms` map, which nettrace reads and prints as
 * "... and N more like this". Every repeat is also counted in
 * NT_STAT_SUMMARIZED, the exact total. A drop whose key cannot be stored
 * (the map is full) is not sent either: it is counted in NT_STAT_STORM_FULL,
 * a loss the summary reports. Needs nettrace.h and stats.h.
 *
 * The per-key counters are updated from every CPU: `summarized` with an
 * atomic add (whose result is not used, so kernels before 5.12 take it), the
 * window's count without one, which only makes the limit approximate. Once a
 * key's window is spent, each CPU counts its repeats in its own run
 * (storm_runs) until the window ends, and adds them to the entry then or when
 * a drop with another key comes: nettrace adds the runs to the entries when
 * reading them (src/bpf/storm_counts.ts).
 */
#ifndef NETTRACE_STORM_LIMIT_H
#define NETTRACE_STORM_LIMIT_H

const volatile __u32 storm_limit = 0;   /* sends per second per key, 0 = off (--no-storm-limit) */
const volatile bool storm_by_flow = true; /* the key holds the flow; false (--monitor): reason, place, protocol only */
/* The windows' clock: jiffies where nettrace knows the kernel's CONFIG_HZ (this value), a read of memory; else (0)
 * bpf_ktime_get_ns, a read of the clock that costs about 80 ns in a VM, as much as the rest of a summarized drop. */
const volatile __u32 storm_hz = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);      /* resized before load */
	__type(key, struct nt_storm_key);
	__type(value, struct nt_storm);
} storms SEC(".maps");

/* The key of a drop: what makes two drops "the same". */
static __always_inline void nt_storm_key_of(struct nt_storm_key *k, const struct nt_packet *pkt,
					    __u32 netns, __u32 reason, __u64 location)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->location = location;
	k->reason = reason;
	k->netns = netns;
	k->l3_proto = pkt->l3_proto;
	k->l4_proto = pkt->l4_proto;
	if (!storm_by_flow) {
		/* a scan of ports or addresses is one storm, not one per flow */
		k->flowless = 1;
		return;
	}
	if (pkt->l3_proto == NT_ETH_P_IP && pkt->l3_len >= 20) {
		__builtin_memcpy(k->saddr, &pkt->l3[12], 4);
		__builtin_memcpy(k->daddr, &pkt->l3[16], 4);
	} else if (pkt->l3_proto == NT_ETH_P_IPV6 && pkt->l3_len >= 40) {
		__builtin_memcpy(k->saddr, &pkt->l3[8], 16);
		__builtin_memcpy(k->daddr, &pkt->l3[24], 16);
	}
	if (nt_has_ports(pkt))
		k->dport = (__u16)pkt->l4[2] << 8 | pkt->l4[3];
}

/* This CPU's run: the key whose window its last drop found spent, until the window ends. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_storm_run);
} storm_runs SEC(".maps");

static __always_inline bool nt_storm_key_equal(const struct nt_storm_key *a, const struct nt_storm_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4] && x[5] == y[5] &&
	       x[6] == y[6];
}

/* The run's repeats into its entry, if the entry is still the one the run was of (nettrace deletes idle keys; the
 * run's repeats were read with it): end moves first, so that a reader that copies the run after the map sees either
 * the repeats in the run, or an unfinished run and the repeats (soon) in the entry, never both. */
static __always_inline void nt_storm_run_end(struct nt_storm_run *run)
{
	struct nt_storm *s;

	nt_run_open(run);
	if (run->summarized) {
		s = bpf_map_lookup_elem(&storms, &run->key);
		if (s && s->born == run->born)
			__sync_fetch_and_add(&s->summarized, run->summarized);
	}
	run->summarized = 0;
	run->until = 0;
}

/* A run of key's repeats on this CPU until its entry's window ends; begin moves last: the run is whole. */
static __always_inline void nt_storm_run_start(struct nt_storm_run *run, const struct nt_storm_key *key,
					       const struct nt_storm *s, __u64 until)
{
	nt_run_open(run);
	__builtin_memcpy(&run->key, key, sizeof(*key));
	run->born = s->born;
	run->until = until;
	run->summarized = 0;
	nt_run_close(run);
}

/*
 * Whether this drop may be sent; when not, it has been counted. A storm's
 * repeats on one CPU find its run and add 1 there, without a hash lookup:
 * the key's entry is looked up once a window per CPU.
 */
static __always_inline bool nt_storm_allows(const struct nt_packet *pkt, __u32 netns, __u32 reason,
					    __u64 location)
{
	struct nt_storm_key key;
	struct nt_storm_run *run;
	struct nt_storm *s;
	__u32 zero = 0;
	__u64 now, window = storm_hz ? (__u64)storm_hz : 1000000000ULL;

	if (!storm_limit)
		return true;
	nt_storm_key_of(&key, pkt, netns, reason, location);
	now = storm_hz ? bpf_jiffies64() : bpf_ktime_get_ns();
	run = bpf_map_lookup_elem(&storm_runs, &zero);
	if (!run)
		return true;
	if (now < run->until && nt_storm_key_equal(&key, &run->key)) {
		run->summarized++;
		nt_count(NT_STAT_SUMMARIZED);
		return false;
	}
	if (run->until)
		nt_storm_run_end(run);
	s = bpf_map_lookup_elem(&storms, &key);
	if (!s) {
		struct nt_storm fresh = { .window_start = now, .window_count = 1, .born = now };

		/* another CPU may have stored it meanwhile: then count against its entry */
		if (!bpf_map_update_elem(&storms, &key, &fresh, BPF_NOEXIST))
			return true;
		s = bpf_map_lookup_elem(&storms, &key);
		if (!s) {
			nt_count(NT_STAT_STORM_FULL);
			return false;
		}
	}
	if (now - s->window_start >= window) {
		s->window_start = now;
		s->window_count = 0;
	}
	if (s->window_count < storm_limit) {
		s->window_count++;
		return true;
	}
	__sync_fetch_and_add(&s->summarized, 1);
	nt_count(NT_STAT_SUMMARIZED);
	nt_storm_run_start(run, &key, s, s->window_start + window);
	return false;
}

#endif
