/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by nettrace's BPF programs and its TypeScript reader.
 *
 * The TypeScript side never hard-codes these offsets blindly: test/unit and
 * test/kernel compare src/event/layout.ts with the BTF of the compiled object.
 * Keep every field naturally aligned and sizes multiples of 8.
 */
#ifndef NETTRACE_H
#define NETTRACE_H

#define NT_L3_MAX 40   /* bytes of network header copied (IPv6 fixed header, IPv4 + 20 bytes of options, ARP) */
#define NT_L4_MAX 20   /* bytes of transport header copied (TCP header without options) */
#define NT_IFNAMSIZ 16
#define NT_COMM_LEN 16
#define NT_L4_UNKNOWN 255

/* Headers of one packet as they were in the skb. Decoded in TypeScript. */
struct nt_packet {
	__u16 l3_proto;   /* ethertype, host order (from skb->protocol) */
	__u8 l3_len;      /* valid bytes in l3[] (0: no network header) */
	__u8 l4_len;      /* valid bytes in l4[] (0: none, e.g. a later fragment) */
	__u8 l4_proto;    /* IPPROTO_* after IPv6 extension headers, NT_L4_UNKNOWN if none */
	__u8 _pad[3];
	__u8 l3[NT_L3_MAX];
	__u8 l4[NT_L4_MAX];
};

/* Everything the kernel tells about one event. */
struct nt_event {
	__u64 ts;          /* bpf_ktime_get_ns() */
	__u64 skb;         /* skb address */
	__u64 location;    /* drop location (kfree_skb tracepoint) */
	__u32 reason;      /* enum skb_drop_reason, 0 when the kernel has none */
	__u32 pid;         /* tgid of current */
	__u32 netns;       /* netns inode of the device (or socket) */
	__u32 ifindex;
	__s32 stack_id;    /* stack trace map id, negative: none */
	__u16 cpu;
	__u16 kind;        /* NT_KIND_* */
	char comm[NT_COMM_LEN];
	char ifname[NT_IFNAMSIZ];
	struct nt_packet pkt;
	__u64 ctx_id;      /* lifecycle: the context (first skb address of the packet) */
	__u32 point;       /* lifecycle: index of the trace point (tracer tree leaf) */
	__u8 sk_state;     /* lifecycle: state of the skb's socket (TCP_ESTABLISHED ...), 0 = no socket */
	__u8 opens;        /* lifecycle: 1 when this event opened its context (a new packet, or a new one
			    * at the address of a packet whose end was not seen) */
	__u8 nf;           /* drop: 1 when netfilter dropped it, its table and chain in nf_drops (netfilter_drop.h) */
	__u8 _pad2[1];
};

/* --snaplen's largest value: bytes of a packet sent with its event (-w) */
#define NT_SNAP_MAX 2048
#define NT_LINK_ETHERNET 1   /* pcap LINKTYPE_ETHERNET: the bytes start at the MAC header */
#define NT_LINK_RAW 101      /* pcap LINKTYPE_RAW: at the IPv4 or IPv6 header */

/* The bytes of the event's packet (-w), sent in the same record right after
 * its struct nt_event, caplen bytes of data. */
struct nt_capture {
	__u32 origlen;     /* the packet's length from where the bytes start */
	__u16 caplen;      /* bytes in data[] */
	__u8 link;         /* NT_LINK_*; 0: no bytes (no header to start from) */
	__u8 _pad;
	__u8 data[NT_SNAP_MAX];
};

enum nt_kind {
	NT_KIND_DROP = 1,
	NT_KIND_LIFE = 2,
	NT_KIND_RET = 3,   /* lifecycle: a function's return value, in location */
	NT_KIND_NF = 4,    /* lifecycle: netfilter details of the event before it (struct nt_nf_event) */
	NT_KIND_SOCK = 5,  /* lifecycle: an event of a socket, not of an skb (struct nt_sock_event) */
};

#define NT_NF_HOOKS_MAX 8
#define NT_NF_NAME_LEN 32

/* Netfilter details of a lifecycle event at a netfilter function: the family
 * and hook (nf_hook_slow) with the hook functions registered there, or the
 * table and chain names (nft_do_chain_*, ipt_do_table). Its own record,
 * sent right after the event; kind at the same offset as in nt_event. */
struct nt_nf_event {
	__u64 ts;
	__u64 skb;
	__u64 ctx_id;
	__u32 point;
	__u8 pf;           /* NFPROTO_* */
	__u8 hook;         /* NF_INET_* */
	__u8 n_hooks;      /* valid entries of hooks[] */
	__u8 _pad;
	__u8 _pad2[14];
	__u16 kind;        /* NT_KIND_NF */
	__u64 hooks[NT_NF_HOOKS_MAX];   /* hook functions on this hook, in order */
	char table[NT_NF_NAME_LEN];
	char chain[NT_NF_NAME_LEN];
};

/* An event of a TCP socket at a socket point (timers, congestion state,
 * resets the socket sends): its connection and its TCP counters. Its own
 * record; kind at the same offset as in nt_event. Addresses and ports as the
 * socket sends (local -> remote); an IPv4-mapped IPv6 socket is shown as IPv4. */
struct nt_sock_event {
	__u64 ts;
	__u64 sk;          /* socket address */
	__u32 point;
	__u32 pid;
	__u32 netns;
	__u32 rst_reason;  /* tcp_send_reset: enum sk_rst_reason (kernels 6.10 and later), else 0 */
	__s32 stack_id;
	__u32 packets_out;
	__u16 cpu;
	__u16 family;      /* AF_INET 2, AF_INET6 10 */
	__u8 state;        /* sk_state: TCP_ESTABLISHED 1 ... */
	__u8 ca_state;     /* icsk_ca_state: TCP_CA_Open 0, Disorder 1, CWR 2, Recovery 3, Loss 4 */
	__u16 kind;        /* NT_KIND_SOCK */
	char comm[NT_COMM_LEN];
	__u8 saddr[16];    /* local address (IPv4: the first 4 bytes) */
	__u8 daddr[16];    /* remote address */
	__u16 sport;       /* local port, host order */
	__u16 dport;       /* remote port, host order */
	__u8 new_ca_state; /* tcp_cong_state_set: the state entered, NT_CA_NONE elsewhere */
	__u8 flags;        /* NT_SOCK_* */
	__u8 retransmits;  /* icsk_retransmits: timeouts without progress */
	__u8 backoff;      /* icsk_backoff */
	__u32 retrans_out; /* retransmitted segments in flight */
	__u32 lost_out;
	__u32 sacked_out;
	__u32 total_retrans;
	__u32 snd_cwnd;
	__u32 snd_ssthresh;
	__u32 srtt_us;     /* smoothed RTT, microseconds */
	__u32 rto;         /* icsk_rto, jiffies */
	__u32 value;       /* the point's value (NT_SOCK_VALUE): a record field or a function argument, low 32 bits */
	__u8 protocol;     /* sk_protocol: IPPROTO_TCP 6, IPPROTO_UDP 17, ... */
	__u8 _pad[3];
	__u32 rtt_us;      /* the RTT of the segment acknowledged last (tp->rack.rtt_us), microseconds */
	__u32 min_rtt_us;  /* the connection's minimum RTT (tp->rtt_min), microseconds */
};

#define NT_CA_NONE 255
#define NT_SOCK_UNDO_CLEARED 1   /* tp->undo_marker is 0: a window reduction was undone (or none is pending) */
#define NT_SOCK_VALUE 2          /* value holds the point's value */

/* A trace point of the lifecycle mode, in the points map, indexed by the
 * attach cookie of the program's link. */
struct nt_point {
	__u16 skb_offset;  /* tracepoint: offset of skbaddr in the record, 0 = none */
	__u8 skb_arg;      /* function: position of the skb (socket point: the socket) argument */
	__u8 flags;        /* NT_POINT_* */
	__u16 reason_offset;    /* tracepoint: offset of the drop reason, 0 = none */
	__u16 location_offset;  /* tracepoint: offset of the free location, 0 = none */
	__u16 sk_offset;        /* socket point, tracepoint: offset of skaddr in the record */
	__u16 rst_reason_offset;   /* socket point, tracepoint: offset of a reset's reason, 0 = none */
	__u16 ca_state_offset;     /* socket point: the congestion state entered: tracepoint: its field's offset;
				    * function (behind a tracepoint): its argument's position + 1; 0 = none */
	__u8 follow_only;  /* --trace-matcher names other points: this one opens no context, it follows packets only */
	__u8 rtt_point;    /* --monitor: the RTT thresholds hold at this point (rtt_points_only), not at the others */
	__u16 value_offset;  /* socket point: tracepoint: offset of the value's field (4 bytes read); function: its argument */
	__u8 value_size;     /* socket point: bytes of the value's field (function: 8), 0 = no value */
	__u8 _pad2;
};

#define NT_POINT_END 1     /* the skb's life ends here */
#define NT_POINT_STACK 2   /* record a stack */
#define NT_POINT_CLONE 4   /* returns a new skb that joins the context */
#define NT_POINT_RET 8     /* its return value is sent (--ret) */
#define NT_POINT_NF_HOOK 16   /* nf_hook_slow(skb, state, entries, s): family, hook, hook functions */
#define NT_POINT_NF_CHAIN 32  /* nft_do_chain_*(chain, skb, state): table and chain names */
#define NT_POINT_NF_TABLE 64  /* ipt_do_table(table, skb, state) and kin: the table name */
#define NT_POINT_SOCK 128     /* a socket point: its events are struct nt_sock_event */
#define NT_POINTS_MAX 1024   /* resized before load to the number of points */

/* Address filter: family 0 = off, 4 or 6. */
struct nt_addr_filter {
	__u8 family;
	__u8 _pad[3];
	__u8 addr[16];
};

/* Filters, written into .rodata before load: the verifier prunes what is off. */
struct nt_filter {
	struct nt_addr_filter saddr;
	struct nt_addr_filter daddr;
	struct nt_addr_filter addr;   /* source or destination */
	__u16 sport;                  /* host order, 0 = off */
	__u16 dport;
	__u16 port;                   /* source or destination */
	__u16 l3_proto;               /* ethertype, 0 = off */
	__u8 l4_proto;                /* IPPROTO_*, 0 = off */
	__u8 _pad[3];
	__u32 netns;                  /* netns inode, 0 = off */
	__u32 pid;                    /* tgid, 0 = off */
	__u32 len_min;                /* skb->len range, len_max 0 = off */
	__u32 len_max;
	__u8 tcp_flags;               /* TCP packets with any of these flags, 0 = off */
	__u8 _pad2[7];
};

/* Counters in the per-CPU stats map. */
enum nt_stat {
	NT_STAT_SEEN = 0,       /* events that passed the filter */
	NT_STAT_LOST = 1,       /* ring buffer reservations that failed */
	NT_STAT_CTX_FULL = 2,   /* lifecycle: contexts that could not be stored */
	NT_STAT_LIMITED = 3,    /* events not sent: over --rate-limit */
	NT_STAT_SUMMARIZED = 4, /* drop: repeats counted in the storms map instead of sent */
	NT_STAT_STORM_FULL = 5, /* drop: not sent and not summarized: the storms map was full */
	NT_STAT_MAX = 6,
};

/* A drop's identity for --storm-limit (storm_limit.h): repeats of the same
 * key beyond the limit are counted, not sent. */
struct nt_storm_key {
	__u64 location;
	__u32 reason;
	__u32 netns;
	__u16 l3_proto;   /* ethertype, host order */
	__u16 dport;      /* host order, 0 when the protocol has no ports */
	__u8 l4_proto;
	__u8 flowless;    /* 1: addresses and port left out (--monitor): this drop of every flow */
	__u8 _pad[2];
	__u8 saddr[16];   /* IPv4: the first 4 bytes */
	__u8 daddr[16];
};

/* The counters of one key in the storms map. */
struct nt_storm {
	__u64 window_start;   /* the current one-second window (storm_limit.h's clock: jiffies or ns) */
	__u64 window_count;   /* drops sent in it */
	__u64 summarized;     /* repeats not sent, since the key was stored (more in a CPU's struct nt_storm_run) */
	__u64 born;           /* when the key was stored (window_start's clock): this entry, not an earlier one */
};

/* A CPU's run of repeats of one key (storm_limit.h): whole when begin equals end. */
struct nt_storm_run {
	__u64 begin;
	struct nt_storm_key key;
	__u64 born;           /* the entry's */
	__u64 until;          /* its window's end; 0: no run */
	__u64 summarized;     /* repeats not yet in the entry */
	__u64 end;
};

/* Keeps the compiler from moving memory accesses across it. The JIT keeps
 * the program's order, and x86 does not reorder stores with stores or loads
 * with loads: what a reader's in-order copy of a run (begin ... end) relies on. */
#define nt_barrier() asm volatile("" ::: "memory")

/* A CPU's run (struct nt_storm_run, nt_drop_count_run), changed between the two: opened, end moves ahead of begin
 * (a reader's copy of it is not whole); closed, begin catches up (whole again). */
#define nt_run_open(run)                                      \
	do {                                                  \
		if ((run)->begin == (run)->end)               \
			(run)->end = (run)->begin + 1;        \
		nt_barrier();                                 \
	} while (0)
#define nt_run_close(run)                                     \
	do {                                                  \
		nt_barrier();                                 \
		(run)->begin = (run)->end;                    \
	} while (0)

#endif
