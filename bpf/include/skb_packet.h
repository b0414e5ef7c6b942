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

/* Reads the network header and the transport header found from it. The
 * transport header is computed from the IP header, not taken from
 * skb->transport_header, which is not set yet on the receive path. */
static __always_inline void nt_read_packet(struct sk_buff *skb, struct nt_packet *pkt)
{
	unsigned char *head = NT_READ(skb, head);
	__u16 nh = NT_READ(skb, network_header);
	__u32 tail = NT_READ(skb, tail);
	__u32 l4off;
	__s64 avail;

	pkt->l3_proto = bpf_ntohs(NT_READ(skb, protocol));
	pkt->l3_len = 0;
	pkt->l4_len = 0;
	pkt->l4_proto = NT_L4_UNKNOWN;
	if (!head || nh == NT_HDR_UNSET)
		return;
	avail = (__s64)tail - nh;
	if (avail <= 0)
		return;
	if (bpf_probe_read_kernel(pkt->l3, NT_L3_MAX, head + nh))
		return;
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
	avail = (__s64)tail - l4off;
	if (avail <= 0)
		return;
	if (bpf_probe_read_kernel(pkt->l4, NT_L4_MAX, head + l4off))
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

/* Network namespace of the skb: its device's, else its socket's. */
static __always_inline __u32 nt_skb_netns(struct sk_buff *skb)
{
	struct net_device *dev = NT_READ(skb, dev);
	__u32 inum = 0;

	if (dev)
		inum = NT_READ(dev, nd_net.net, ns.inum);
	if (!inum) {
		struct sock *sk = NT_READ(skb, sk);

		if (sk)
			inum = NT_READ(sk, __sk_common.skc_net.net, ns.inum);
	}
	return inum;
}

#endif
