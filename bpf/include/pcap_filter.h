/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tcpdump expression, run in the kernel (-e/--filter-expr): libpcap compiles
 * it to classic BPF, nettrace translates that to eBPF
 * (src/filter/cbpf_to_ebpf.ts) and writes it over a region of no-op jumps in
 * the object's bytes before it is opened (src/bpf/pcap_region.ts). There are
 * two regions: one for points where the skb has a MAC header (the expression
 * compiled for Ethernet), one for points where it has only a network header
 * (compiled for raw IP).
 *
 * A region starts with a marker instruction, r0 = NT_PCAP_MAGIC_L2 or _L3 (a
 * 64-bit load), followed by NT_PCAP_REGION_SLOTS no-op jumps. Its code finds
 * struct nt_pcap_scratch in r9, may use r0-r8, and leaves its verdict in
 * result (0: no match). Needs kernel.h and skb_packet.h.
 */
#ifndef NETTRACE_PCAP_FILTER_H
#define NETTRACE_PCAP_FILTER_H

#define NT_PCAP_REGION_SLOTS 1024
#define NT_PCAP_HEAD 96
#define NT_PCAP_MAGIC_L2 "0x6e74706361704c32"
#define NT_PCAP_MAGIC_L3 "0x6e74706361704c33"
#define NT_STRINGIFY(x) #x
#define NT_STR(x) NT_STRINGIFY(x)

/* Read by the region's code at fixed offsets: keep in step with SCRATCH in src/filter/cbpf_to_ebpf.ts. */
struct nt_pcap_scratch {
	__u64 data;      /* the packet's first byte (kernel address) */
	__u32 len;       /* the packet's length from data */
	__u32 caplen;    /* bytes from data that can be read (the linear part) */
	__u32 result;    /* the verdict: 0 no match */
	__u32 _pad;
	__u64 buf;       /* where a load puts its bytes */
	__u32 mem[16];   /* classic BPF's scratch memory */
	__u8 head[NT_PCAP_HEAD];   /* the packet's first bytes, read once: loads within them need no helper call */
};

const volatile bool pcap_filter = false;   /* regions patched: run them */

/* The scratch, off the stack: the kernel allows 512 bytes of stack for a whole call chain, which the callers' frames
 * already use. Per CPU; a program that ran on this CPU in the middle of another's filter (an fentry program on a
 * function the filter's helper calls) would leave its own values there: the outer verdict could then be wrong for
 * that one packet. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_pcap_scratch);
} pcap_scratch SEC(".maps");

#ifdef NT_COMPAT
/* The objects built from a kernel's headers (scripts/build-bpf.sh --compat) are compiled for the host first, whose
 * inline assembly is not BPF's: they have no regions, and nettrace refuses an expression with them. */
static __always_inline bool nt_pcap_match(const struct nt_skb *skb)
{
	return true;
}

static __always_inline bool nt_pcap_match_network(const void *l3, __u32 len)
{
	return true;
}
#else

#define NT_PCAP_REGION(magic, s)                                                     \
	asm volatile("r9 = %[scratch]\n"                                             \
		     "r0 = " magic " ll\n"                                          \
		     ".rept " NT_STR(NT_PCAP_REGION_SLOTS) "\n"                     \
		     "goto +0\n"                                                    \
		     ".endr\n"                                                      \
		     :                                                              \
		     : [scratch] "r"(s)                                             \
		     : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "memory")

static __noinline int nt_pcap_l2(struct nt_pcap_scratch *s)
{
	NT_PCAP_REGION(NT_PCAP_MAGIC_L2, s);
	return s->result;
}

static __noinline int nt_pcap_l3(struct nt_pcap_scratch *s)
{
	NT_PCAP_REGION(NT_PCAP_MAGIC_L3, s);
	return s->result;
}

/* The scratch of this CPU, its result reset. */
static __always_inline struct nt_pcap_scratch *nt_pcap_scratch(void)
{
	__u32 zero = 0;
	struct nt_pcap_scratch *s = bpf_map_lookup_elem(&pcap_scratch, &zero);

	if (s)
		s->result = 0;
	return s;
}

/* Does the skb match the expression? From its MAC header where it has one
 * before the network header, else from its network header. */
static __always_inline bool nt_pcap_match(const struct nt_skb *skb)
{
	struct nt_pcap_scratch *s;
	unsigned char *head = skb->head, *data = skb->data;
	__u16 mac = skb->mac_header, nh = skb->network_header, start;
	__u32 tail = skb->tail, len = skb->len;
	__s64 before;

	if (!pcap_filter)
		return true;
	if (!head)
		return false;
	if (mac != NT_HDR_UNSET && (nh == NT_HDR_UNSET || mac < nh))
		start = mac;
	else if (nh != NT_HDR_UNSET)
		start = nh;
	else
		return false;
	/* skb->len counts from skb->data, which may be before or after the header */
	before = (__s64)(data - (head + start));
	if ((__s64)len + before <= 0 || tail <= start)
		return false;
	s = nt_pcap_scratch();
	if (!s)
		return false;
	s->data = (__u64)(head + start);
	s->len = len + before;
	s->caplen = tail - start;
	if (start == mac)
		return nt_pcap_l2(s) != 0;
	return nt_pcap_l3(s) != 0;
}

/* Does a packet made in BPF memory (a socket's connection as headers, sock_event.h) match, from its network
 * header? */
static __always_inline bool nt_pcap_match_network(const void *l3, __u32 len)
{
	struct nt_pcap_scratch *s;

	if (!pcap_filter)
		return true;
	s = nt_pcap_scratch();
	if (!s)
		return false;
	s->data = (__u64)l3;
	s->len = len;
	s->caplen = len;
	return nt_pcap_l3(s) != 0;
}
#endif /* NT_COMPAT */

#endif
