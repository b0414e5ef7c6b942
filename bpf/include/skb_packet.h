/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading an skb's headers and applying nettrace's filters, in the kernel.
 * Needs kernel.h and nettrace.h.
 */
#ifndef NETTRACE_SKB_PACKET_H
#define NETTRACE_SKB_PACKET_H

#define NT_ETH_P_IP 0x0800
#define NT_ETH_P_IPV6 0x86DD
#define NT_HDR_UNSET 0xffff
#define NT_IPV6_EXT_MAX 4

/*
 * The sk_buff fields an event needs. A probe read costs about 35 ns whatever
 * its size (a helper call, a fault-safe copy), and reading these one at a
 * time was most of a drop's cost: they are read as one span of the skb, from
 * dev to data, and taken from it at their offsets (relocated by CO-RE). If
 * this kernel's skb does not fit the span, they are read one at a time.
 */
struct nt_skb {
	struct net_device *dev;
	struct sock *sk;
	unsigned char *head;
	unsigned char *data;
	__u32 tail;              /* offsets from head (64-bit kernels: sk_buff_data_t is an offset) */
	__u32 len;
	__u16 network_header;
	__u16 mac_header;
	__u16 protocol;          /* ethertype, host order */
	__u16 _pad;
};

#define NT_SKB_SPAN 256          /* bytes of the skb read at once: dev ... data is about 190 */
#define NT_PKT_SPAN 96           /* bytes read from the network header: IPv4 with options and its transport header */

/* One CPU's room for the fields and the spans they are taken from: off the stack, which the callers' frames already
 * use (and functions of their own would cost every program a second JIT pass, seconds per load under emulation). A
 * program that ran on this CPU in the middle of another's event (a softirq's, interrupting a process's) would leave its
 * own values there: the outer event could then show the inner's packet. */
struct nt_skb_scratch {
	struct nt_skb fields;
	__u8 skb[NT_SKB_SPAN];
	__u8 pkt[NT_PKT_SPAN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_skb_scratch);
} skb_scratch SEC(".maps");

#ifdef NT_COMPAT
#define NT_SKB_OFF(field) ((__u32)__builtin_offsetof(struct sk_buff, field))
#define NT_SKB_SIZE(field) ((__u32)sizeof(((struct sk_buff *)0)->field))
#else
#define NT_SKB_OFF(field) ((__u32)bpf_core_field_offset(struct sk_buff, field))
#define NT_SKB_SIZE(field) ((__u32)bpf_core_field_size(struct sk_buff, field))
#endif

/* Is the field inside the span [lo, hi) and of the size read? (Known at load: the verifier keeps one branch.) */
#define NT_SKB_IN_SPAN(field, size, lo, hi) \
	(NT_SKB_OFF(field) >= (lo) && NT_SKB_OFF(field) + (size) <= (hi) && NT_SKB_SIZE(field) == (size))
#define NT_SKB_AT(buf, lo, field, type) (*(type *)((buf) + (NT_SKB_OFF(field) - (lo))))

static __always_inline struct nt_skb_scratch *nt_skb_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&skb_scratch, &zero);
}

/* Reads the fields of skb into this CPU's scratch (all zero when the skb cannot be read); NULL: no scratch (never). */
static __always_inline const struct nt_skb *nt_skb_read(struct sk_buff *skb)
{
	struct nt_skb_scratch *sc = nt_skb_scratch();
	struct nt_skb *s;
	__u32 lo = NT_SKB_OFF(dev);
	__u32 hi = NT_SKB_OFF(data) + 8;

	if (!sc)
		return NULL;
	s = &sc->fields;
	__builtin_memset(s, 0, sizeof(*s));
	if (hi > lo && hi - lo <= NT_SKB_SPAN && NT_SKB_IN_SPAN(dev, 8, lo, hi) &&
	    NT_SKB_IN_SPAN(sk, 8, lo, hi) && NT_SKB_IN_SPAN(head, 8, lo, hi) && NT_SKB_IN_SPAN(data, 8, lo, hi) &&
	    NT_SKB_IN_SPAN(tail, 4, lo, hi) && NT_SKB_IN_SPAN(len, 4, lo, hi) &&
	    NT_SKB_IN_SPAN(network_header, 2, lo, hi) && NT_SKB_IN_SPAN(mac_header, 2, lo, hi) &&
	    NT_SKB_IN_SPAN(protocol, 2, lo, hi)) {
		if (bpf_probe_read_kernel(sc->skb, hi - lo, (char *)skb + lo))
			return s;
		s->dev = NT_SKB_AT(sc->skb, lo, dev, struct net_device *);
		s->sk = NT_SKB_AT(sc->skb, lo, sk, struct sock *);
		s->head = NT_SKB_AT(sc->skb, lo, head, unsigned char *);
		s->data = NT_SKB_AT(sc->skb, lo, data, unsigned char *);
		s->tail = NT_SKB_AT(sc->skb, lo, tail, __u32);
		s->len = NT_SKB_AT(sc->skb, lo, len, __u32);
		s->network_header = NT_SKB_AT(sc->skb, lo, network_header, __u16);
		s->mac_header = NT_SKB_AT(sc->skb, lo, mac_header, __u16);
		s->protocol = bpf_ntohs(NT_SKB_AT(sc->skb, lo, protocol, __u16));
		return s;
	}
	s->dev = NT_READ(skb, dev);
	s->sk = NT_READ(skb, sk);
	s->head = NT_READ(skb, head);
	s->data = NT_READ(skb, data);
	s->tail = NT_READ(skb, tail);
	s->len = NT_READ(skb, len);
	s->network_header = NT_READ(skb, network_header);
	s->mac_header = NT_READ(skb, mac_header);
	s->protocol = bpf_ntohs(NT_READ(skb, protocol));
	return s;
}

/* The same fields loaded straight from skb, where the program's arguments are typed by BTF (tp_btf, fentry): a load
 * each, no helper call. */
static __always_inline const struct nt_skb *nt_skb_load(struct sk_buff *skb)
{
	struct nt_skb_scratch *sc = nt_skb_scratch();
	struct nt_skb *s;

	if (!sc)
		return NULL;
	s = &sc->fields;
	s->dev = skb->dev;
	s->sk = skb->sk;
	s->head = skb->head;
	s->data = skb->data;
	s->tail = skb->tail;
	s->len = skb->len;
	s->network_header = skb->network_header;
	s->mac_header = skb->mac_header;
	s->protocol = bpf_ntohs(skb->protocol);
	s->_pad = 0;
	return s;
}

/* Reads the network header and the transport header found from it, both
 * from one read of the packet's first NT_PKT_SPAN bytes when it reaches them
 * (always for IPv4: its header is at most 60 bytes). The span stays inside
 * the skb's head: skb_shared_info follows its end. The transport header is
 * computed from the IP header, not taken from skb->transport_header, which is
 * not set yet on the receive path. */
static __always_inline void nt_read_packet(const struct nt_skb *skb, struct nt_packet *pkt)
{
	struct nt_skb_scratch *sc = nt_skb_scratch();
	unsigned char *head = skb->head;
	__u16 nh = skb->network_header;
	__u32 l4off;
	__u32 l4rel;
	__s64 avail;

	pkt->l3_proto = skb->protocol;
	pkt->l3_len = 0;
	pkt->l4_len = 0;
	pkt->l4_proto = NT_L4_UNKNOWN;
	if (!head || nh == NT_HDR_UNSET)
		return;
	avail = (__s64)skb->tail - nh;
	if (avail <= 0)
		return;
	if (!sc || bpf_probe_read_kernel(sc->pkt, NT_PKT_SPAN, head + nh))
		return;
	__builtin_memcpy(pkt->l3, sc->pkt, NT_L3_MAX);
	pkt->l3_len = avail > NT_L3_MAX ? NT_L3_MAX : avail;

	if (pkt->l3_proto == NT_ETH_P_IP) {
		__u8 ihl = pkt->l3[0] & 0xf;
		__u16 frag = ((__u16)pkt->l3[6] << 8 | pkt->l3[7]) & 0x1fff;

		if (pkt->l3_len < 20 || ihl < 5)
			return;
		pkt->l4_proto = pkt->l3[9];
		if (frag)   /* a later fragment carries no transport header */
			return;
		l4off = nh + ihl * 4;
	} else if (pkt->l3_proto == NT_ETH_P_IPV6) {
		__u8 next;
		__u8 ext[2];
		int i;

		if (pkt->l3_len < 40)
			return;
		next = pkt->l3[6];
		l4off = nh + 40;
#pragma unroll
		for (i = 0; i < NT_IPV6_EXT_MAX; i++) {
			if (next != 0 && next != 43 && next != 60 && next != 44 && next != 51)
				break;
			if (bpf_probe_read_kernel(ext, sizeof(ext), head + l4off))
				return;
			if (next == 44) {   /* fragment header */
				__u8 fo[2];

				if (bpf_probe_read_kernel(fo, sizeof(fo), head + l4off + 2))
					return;
				if ((((__u16)fo[0] << 8) | fo[1]) & 0xfff8) {
					pkt->l4_proto = ext[0];
					return;
				}
				l4off += 8;
			} else if (next == 51) {   /* authentication header */
				l4off += ((__u32)ext[1] + 2) * 4;
			} else {
				l4off += ((__u32)ext[1] + 1) * 8;
			}
			next = ext[0];
		}
		pkt->l4_proto = next;
	} else {
		return;
	}
	avail = (__s64)skb->tail - l4off;
	if (avail <= 0)
		return;
	l4rel = l4off - nh;
	if (l4rel <= NT_PKT_SPAN - NT_L4_MAX)
		__builtin_memcpy(pkt->l4, sc->pkt + l4rel, NT_L4_MAX);
	else if (bpf_probe_read_kernel(pkt->l4, NT_L4_MAX, head + l4off))
		return;
	pkt->l4_len = avail > NT_L4_MAX ? NT_L4_MAX : avail;
}

static __always_inline bool nt_bytes_eq(const __u8 *a, const volatile __u8 *b, int n)
{
	int i;

#pragma unroll
	for (i = 0; i < 16; i++) {
		if (i >= n)
			break;
		if (a[i] != b[i])
			return false;
	}
	return true;
}

/* Does the address filter f match the address at a of the packet's family? */
static __always_inline bool nt_addr_match(const volatile struct nt_addr_filter *f,
					  const struct nt_packet *pkt, int v4off, int v6off)
{
	if (f->family == 4)
		return pkt->l3_proto == NT_ETH_P_IP && pkt->l3_len >= 20 &&
		       nt_bytes_eq(&pkt->l3[v4off], f->addr, 4);
	return pkt->l3_proto == NT_ETH_P_IPV6 && pkt->l3_len >= 40 &&
	       nt_bytes_eq(&pkt->l3[v6off], f->addr, 16);
}

static __always_inline bool nt_has_ports(const struct nt_packet *pkt)
{
	return pkt->l4_len >= 4 && (pkt->l4_proto == 6 || pkt->l4_proto == 17 ||
				    pkt->l4_proto == 132 || pkt->l4_proto == 136);
}

/* The packet part of the filter: addresses, ports, protocols. */
static __always_inline bool nt_packet_match(const volatile struct nt_filter *f,
					    const struct nt_packet *pkt)
{
	__u16 sport = 0, dport = 0;

	if (f->l3_proto && pkt->l3_proto != f->l3_proto)
		return false;
	if (f->l4_proto) {
		if (pkt->l3_proto != NT_ETH_P_IP && pkt->l3_proto != NT_ETH_P_IPV6)
			return false;
		if (pkt->l4_proto != f->l4_proto)
			return false;
	}
	if (f->saddr.family && !nt_addr_match(&f->saddr, pkt, 12, 8))
		return false;
	if (f->daddr.family && !nt_addr_match(&f->daddr, pkt, 16, 24))
		return false;
	if (f->addr.family && !nt_addr_match(&f->addr, pkt, 12, 8) &&
	    !nt_addr_match(&f->addr, pkt, 16, 24))
		return false;
	if (f->tcp_flags) {
		if (pkt->l4_proto != 6 || pkt->l4_len < 14 || !(pkt->l4[13] & f->tcp_flags))
			return false;
	}
	if (f->sport || f->dport || f->port) {
		if (!nt_has_ports(pkt))
			return false;
		sport = (__u16)pkt->l4[0] << 8 | pkt->l4[1];
		dport = (__u16)pkt->l4[2] << 8 | pkt->l4[3];
		if (f->sport && sport != f->sport)
			return false;
		if (f->dport && dport != f->dport)
			return false;
		if (f->port && sport != f->port && dport != f->port)
			return false;
	}
	return true;
}

/* The length part of the filter (--pkt-len); a packet that is not IP does not match it. */
static __always_inline bool nt_len_match(const volatile struct nt_filter *f, const struct nt_packet *pkt)
{
	__u32 len;

	if (!f->len_max)
		return true;
	/* the IP packet's length, its header included, as the C nettrace filters it; not skb->len, which has the MAC
	 * header at some points and not at others */
	if (pkt->l3_proto == NT_ETH_P_IP && pkt->l3_len >= 4)
		len = (__u32)pkt->l3[2] << 8 | pkt->l3[3];
	else if (pkt->l3_proto == NT_ETH_P_IPV6 && pkt->l3_len >= 6)
		len = ((__u32)pkt->l3[4] << 8 | pkt->l3[5]) + 40;
	else
		return false;
	return len >= f->len_min && len <= f->len_max;
}

/* nt_skb_netns where skb is typed by BTF: loads, no helper call. (From skb itself: a pointer kept in the scratch is
 * a number to the verifier, no longer typed.) */
static __always_inline __u32 nt_skb_netns_loaded(struct sk_buff *skb)
{
	struct net_device *dev = skb->dev;
	struct sock *sk = skb->sk;
	__u32 inum = 0;

	if (dev)
		inum = dev->nd_net.net->ns.inum;
	if (!inum && sk)
		inum = sk->__sk_common.skc_net.net->ns.inum;
	return inum;
}

/* Network namespace of the skb: its device's, else its socket's. */
static __always_inline __u32 nt_skb_netns(const struct nt_skb *skb)
{
	/* locals: inside NT_READ, a field of struct nt_skb would be relocated as a kernel type's */
	struct net_device *dev = skb->dev;
	struct sock *sk = skb->sk;
	__u32 inum = 0;

	if (dev)
		inum = NT_READ(dev, nd_net.net, ns.inum);
	if (!inum && sk)
		inum = NT_READ(sk, __sk_common.skc_net.net, ns.inum);
	return inum;
}

#endif
