/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which netfilter table, chain and hook dropped a packet (--monitor). The
 * kfree_skb of a netfilter drop names only nf_hook_slow: the table walk that
 * said NF_DROP has returned by then. So the walks are watched: fentry on
 * nft_do_chain (nf_tables) and on ipt_do_table and ip6t_do_table (x_tables)
 * notes in this CPU's slot (nf_current) the skb being judged and where: the
 * family, the hook, and pointers to the table's and (nf_tables) the base
 * chain's names. That is all a walk that lets the packet through costs: no
 * map update, no string read. fexit of a walk whose verdict is a drop reads
 * the names into nf_walks under the skb; nf_hook_slow then frees it on this
 * CPU. The drop program takes the skb's entry from nf_walks or, where
 * nf_tables frees the skb inside the walk, from the slot: into nf_drops under
 * the skb with the drop event's time, where nettrace reads it for the line,
 * and into nf_drop_counts for the metrics. A walk interrupted on its CPU by
 * another (a softirq's) loses its slot: that drop is shown without names,
 * never with another's. Needs fentry (BTF), so the compat build leaves the
 * programs out. Needs nettrace.h and kernel.h.
 */
#ifndef NETTRACE_NETFILTER_DROP_H
#define NETTRACE_NETFILTER_DROP_H

const volatile bool nf_names = false;
/* ipt_do_table(table, skb, state) since 5.16; (skb, state, table) before */
const volatile bool xt_table_first = true;

#define NT_NF_DROP 0   /* the verdict NF_DROP */
#define NT_NF_VERDICT_MASK 0xff

/* Where a packet is judged: family, hook, table and (nf_tables) base chain. */
struct nt_nf_where {
	__u8 pf;        /* NFPROTO_* */
	__u8 hook;      /* NF_INET_* */
	__u8 _pad[6];
	char table[NT_NF_NAME_LEN];
	char chain[NT_NF_NAME_LEN];   /* "" for x_tables */
};

/* A drop event's entry in nf_drops, under its skb: the event's time, and where. */
struct nt_nf_drop {
	__u64 ts;
	struct nt_nf_where where;
};

/* The walk this CPU is in: the skb being judged and where, the names still the kernel's. */
struct nt_nf_walk {
	__u64 skb;
	__u64 table;    /* const char *: the table's name */
	__u64 chain;    /* const char *: the base chain's name; 0 for x_tables */
	__u8 pf;
	__u8 hook;
	__u8 _pad[2];
	__u32 pending;  /* entries this CPU put in nf_walks and no drop took yet: none, no lookup in nf_walks */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_nf_walk);
} nf_current SEC(".maps");

/* skb -> where a walk said NF_DROP, until the drop program takes it */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);      /* 1 without nf_names */
	__type(key, __u64);
	__type(value, struct nt_nf_where);
} nf_walks SEC(".maps");

/* skb of a drop event -> the event's time and where netfilter dropped it; nettrace deletes what it read */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);      /* 1 without nf_names */
	__type(key, __u64);
	__type(value, struct nt_nf_drop);
} nf_drops SEC(".maps");

/* this CPU's nf_drops entry being made */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_nf_drop);
} nf_keep_scratch SEC(".maps");

/* where -> drops, for --metrics; bounded: a full map adds to the all-zero key ("other") */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);      /* 1 without nf_names and --metrics */
	__type(key, struct nt_nf_where);
	__type(value, __u64);
} nf_drop_counts SEC(".maps");

/* this CPU's copy of the walk a drop is taken from (the drop program's stack has no room for it); at 1 the
 * all-zero key, never written; at NT_NF_SCRATCH_EXIT the one a walk's exit fills (it may interrupt a drop program
 * that uses slot 0) */
#define NT_NF_SCRATCH_EXIT 2
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, struct nt_nf_where);
} nf_scratch SEC(".maps");

/* w filled from a walk: its names read (the rest of each name and the padding zero: w is a key of nf_drop_counts). */
static __always_inline void nt_nf_names(struct nt_nf_where *w, const struct nt_nf_walk *walk)
{
	__builtin_memset(w, 0, sizeof(*w));
	w->pf = walk->pf;
	w->hook = walk->hook;
	bpf_probe_read_kernel_str(w->table, sizeof(w->table), (const void *)walk->table);
	if (walk->chain)
		bpf_probe_read_kernel_str(w->chain, sizeof(w->chain), (const void *)walk->chain);
}

/* The walk this skb was dropped in, taken (into this CPU's scratch slot): from nf_walks when the walk returned its
 * drop, from this CPU's slot when the skb is freed inside the walk; or NULL. Before any filter: an entry left behind
 * would name the next drop at the same address. */
static __always_inline struct nt_nf_where *nt_nf_take(struct sk_buff *skb)
{
	__u64 key = (__u64)skb;
	__u32 zero = 0;
	struct nt_nf_where *found, *w;
	struct nt_nf_walk *walk;

	if (!nf_names)
		return NULL;
	walk = bpf_map_lookup_elem(&nf_current, &zero);
	w = bpf_map_lookup_elem(&nf_scratch, &zero);
	if (!walk || !w)
		return NULL;
	/* a drop's walk returned on this CPU just before the free: most drops, none of netfilter's, skip the hash */
	if (walk->pending) {
		/* one less either way: an entry the LRU evicted, or whose skb was freed unseen, is not waited for forever */
		walk->pending--;
		found = bpf_map_lookup_elem(&nf_walks, &key);
		if (found) {
			__builtin_memcpy(w, found, sizeof(*w));
			bpf_map_delete_elem(&nf_walks, &key);
			return w;
		}
	}
	if (walk->skb != key)
		return NULL;
	nt_nf_names(w, walk);
	walk->skb = 0;  /* taken: the walk's exit leaves nothing behind for this address */
	return w;
}

/* A netfilter drop that passed the filter: counted by where (count_drops: --metrics). */
static __always_inline void nt_nf_count(const struct nt_nf_where *w, bool count)
{
	__u64 one = 1, *c;

	if (!count)
		return;
	c = bpf_map_lookup_elem(&nf_drop_counts, w);
	if (!c) {
		if (!bpf_map_update_elem(&nf_drop_counts, w, &one, BPF_NOEXIST))
			return;
		c = bpf_map_lookup_elem(&nf_drop_counts, w);
		if (!c) {
			__u32 one = 1;
			struct nt_nf_where *other = bpf_map_lookup_elem(&nf_scratch, &one);

			if (other)
				c = bpf_map_lookup_elem(&nf_drop_counts, other);
		}
		if (!c)
			return;
	}
	__sync_fetch_and_add(c, 1);
}

/* The drop event of skb at ts was netfilter's, at w: kept for nettrace to read (the scratch slot's copy holds it
 * together with ts: the stack has no room). */
static __always_inline void nt_nf_keep(struct sk_buff *skb, __u64 ts, const struct nt_nf_where *w)
{
	__u64 key = (__u64)skb;
	__u32 zero = 0;
	struct nt_nf_drop *d = bpf_map_lookup_elem(&nf_keep_scratch, &zero);

	if (!d)
		return;
	d->ts = ts;
	__builtin_memcpy(&d->where, w, sizeof(*w));
	bpf_map_update_elem(&nf_drops, &key, d, BPF_ANY);
}

#ifndef NT_COMPAT
static __always_inline void nt_nf_enter(struct sk_buff *skb, const struct nf_hook_state *state, const void *table,
					const void *chain)
{
	__u32 zero = 0;
	struct nt_nf_walk *walk = bpf_map_lookup_elem(&nf_current, &zero);

	if (!walk)
		return;
	walk->skb = (__u64)skb;
	walk->table = (__u64)table;
	walk->chain = (__u64)chain;
	walk->pf = NT_READ(state, pf);
	walk->hook = NT_READ(state, hook);
}

/* A walk of skb returned verdict: a drop's place is read into nf_walks for the free that follows. */
static __always_inline void nt_nf_exit(struct sk_buff *skb, __u64 verdict)
{
	__u64 key = (__u64)skb;
	__u32 zero = 0, exit_slot = NT_NF_SCRATCH_EXIT;
	struct nt_nf_walk *walk = bpf_map_lookup_elem(&nf_current, &zero);
	struct nt_nf_where *w;

	if (!walk || walk->skb != key)
		return;
	walk->skb = 0;
	if ((verdict & NT_NF_VERDICT_MASK) != NT_NF_DROP)
		return;
	w = bpf_map_lookup_elem(&nf_scratch, &exit_slot);
	if (!w)
		return;
	nt_nf_names(w, walk);
	if (!bpf_map_update_elem(&nf_walks, &key, w, BPF_ANY))
		walk->pending++;
}

/* nft_do_chain(pkt, priv): priv is the base chain */
SEC("fentry/nft_do_chain")
int nt_nft_enter(__u64 *ctx)
{
	struct nft_pktinfo *pkt = (struct nft_pktinfo *)ctx[0];
	struct nft_chain *chain = (struct nft_chain *)ctx[1];

	if (!NT_HAS_NFT_CHAIN)
		return 0;
	nt_nf_enter(NT_READ(pkt, skb), NT_READ(pkt, state), NT_READ(chain, table, name), NT_READ(chain, name));
	return 0;
}

SEC("fexit/nft_do_chain")
int nt_nft_exit(__u64 *ctx)
{
	struct nft_pktinfo *pkt = (struct nft_pktinfo *)ctx[0];

	nt_nf_exit(NT_READ(pkt, skb), ctx[2]);
	return 0;
}

/* The verifier refuses a load from a computed offset of an fentry program's context: each argument is loaded at its
 * own constant offset first, and only then chosen. */
#define NT_LOADED(var) asm volatile("" : "+r"(var))

static __always_inline int nt_xt_enter(__u64 *ctx)
{
	__u64 a0 = ctx[0], a1 = ctx[1], a2 = ctx[2];
	struct xt_table *table;
	struct sk_buff *skb;
	struct nf_hook_state *state;

	NT_LOADED(a0);
	NT_LOADED(a1);
	NT_LOADED(a2);
	table = (struct xt_table *)(xt_table_first ? a0 : a2);
	skb = (struct sk_buff *)(xt_table_first ? a1 : a0);
	state = (struct nf_hook_state *)(xt_table_first ? a2 : a1);

	if (!NT_HAS_XT_TABLE)
		return 0;
	nt_nf_enter(skb, state, &table->name, NULL);
	return 0;
}

static __always_inline int nt_xt_exit(__u64 *ctx)
{
	__u64 a0 = ctx[0], a1 = ctx[1], ret = ctx[3];

	NT_LOADED(a0);
	NT_LOADED(a1);
	nt_nf_exit((struct sk_buff *)(xt_table_first ? a1 : a0), ret);
	return 0;
}

SEC("fentry/ipt_do_table")
int nt_ipt_enter(__u64 *ctx) { return nt_xt_enter(ctx); }

SEC("fexit/ipt_do_table")
int nt_ipt_exit(__u64 *ctx) { return nt_xt_exit(ctx); }

SEC("fentry/ip6t_do_table")
int nt_ip6t_enter(__u64 *ctx) { return nt_xt_enter(ctx); }

SEC("fexit/ip6t_do_table")
int nt_ip6t_exit(__u64 *ctx) { return nt_xt_exit(ctx); }
#endif

#endif
