/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Socket events of the lifecycle mode: what a TCP socket's connection and
 * counters are (nt_read_sock_tuple, nt_read_tcp), and whether the packet
 * filter takes the connection (nt_sock_match). Needs kernel.h,
 * nettrace.h, skb_packet.h and the program's
 * `filter` before it.
 */
#ifndef NETTRACE_SOCK_EVENT_H
#define NETTRACE_SOCK_EVENT_H

#define NT_AF_INET 2
#define NT_AF_INET6 10
#define NT_IPPROTO_TCP 6
#define NT_TCP_TIME_WAIT 6
#define NT_TCP_NEW_SYN_RECV 12

/* The socket's family, addresses and ports into e, as the socket sends
 * (local -> remote). An IPv6 socket connected to an IPv4-mapped address
 * reads as IPv4: its packets are IPv4. */
static __always_inline void nt_read_sock_tuple(struct sock *sk, struct nt_sock_event *e)
{
	__u16 family = NT_READ(sk, __sk_common.skc_family);

	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	/* inet_sport, not skc_num: a closing socket loses its local port number (inet_put_port) before its reset */
	e->sport = bpf_ntohs(NT_READ((struct inet_sock *)sk, inet_sport));
	e->dport = bpf_ntohs(NT_READ(sk, __sk_common.skc_dport));
	if (family == NT_AF_INET6 && NT_SK_HAS_V6(sk)) {
		__u32 d[4];

		nt_read_into(d, sizeof(d), &sk->__sk_common.skc_v6_daddr);
		if (d[0] == 0 && d[1] == 0 && d[2] == bpf_htonl(0xffff)) {
			family = NT_AF_INET;
		} else {
			__builtin_memcpy(e->daddr, d, sizeof(d));
			nt_read_into(e->saddr, sizeof(e->saddr), &sk->__sk_common.skc_v6_rcv_saddr);
		}
	}
	if (family == NT_AF_INET) {
		__u32 s = NT_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 d = NT_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e->saddr, &s, 4);
		__builtin_memcpy(e->daddr, &d, 4);
	}
	e->family = family;
}

/* The connection as a packet from saddr:sport to daddr:dport (headers only). */
static __always_inline void nt_sock_packet(const struct nt_sock_event *e, struct nt_packet *pkt, int reply)
{
	const __u8 *src = reply ? e->daddr : e->saddr, *dst = reply ? e->saddr : e->daddr;
	__u16 sport = reply ? e->dport : e->sport, dport = reply ? e->sport : e->dport;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->l4_proto = e->protocol;
	pkt->l4_len = 4;
	pkt->l4[0] = sport >> 8;
	pkt->l4[1] = sport & 0xff;
	pkt->l4[2] = dport >> 8;
	pkt->l4[3] = dport & 0xff;
	/* the transport header right after the network header (l4 follows l3): an IPv4 header of 40 bytes, options
	 * zero, so that a filter expression reads the connection as one packet (nt_pcap_match_network) */
	if (e->family == NT_AF_INET) {
		pkt->l3_proto = NT_ETH_P_IP;
		pkt->l3_len = 20;
		pkt->l3[0] = 0x4a;
		pkt->l3[3] = NT_L3_MAX + NT_L4_MAX;
		pkt->l3[9] = e->protocol;
		__builtin_memcpy(&pkt->l3[12], src, 4);
		__builtin_memcpy(&pkt->l3[16], dst, 4);
	} else {
		pkt->l3_proto = NT_ETH_P_IPV6;
		pkt->l3_len = 40;
		pkt->l3[0] = 0x60;
		pkt->l3[5] = NT_L4_MAX;
		pkt->l3[6] = e->protocol;
		__builtin_memcpy(&pkt->l3[8], src, 16);
		__builtin_memcpy(&pkt->l3[24], dst, 16);
	}
}

/*
 * Whether the filter takes the socket's connection: a packet it sends or one
 * it receives passes the address, port and protocol filters, and the filter
 * expression (as headers with addresses, ports and protocol, nothing else).
 * TCP flags and lengths belong to packets: with those filters no socket matches.
 */
/* Room for a socket event while it is built, and for its connection as a
 * packet: off the stack, which the caller's frames share (the kernel allows
 * 512 bytes for a whole call chain). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* slot 0: tracepoints, 1: function probes */
	__type(key, __u32);
	__type(value, struct nt_sock_event);
} sock_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* as sock_scratch */
	__type(key, __u32);
	__type(value, struct nt_packet);
} sock_packet SEC(".maps");

static __noinline bool nt_sock_side_match(const struct nt_sock_event *e, int reply, __u32 slot)
{
	struct nt_packet *pkt = bpf_map_lookup_elem(&sock_packet, &slot);

	if (!pkt)
		return false;
	nt_sock_packet(e, pkt, reply);
	return nt_packet_match(&filter, pkt) && nt_pcap_match_network(pkt->l3, NT_L3_MAX + NT_L4_MAX);
}

static __always_inline bool nt_sock_match(const struct nt_sock_event *e, __u32 slot)
{
	if (filter.tcp_flags || filter.len_max)
		return false;
	return nt_sock_side_match(e, 0, slot) || nt_sock_side_match(e, 1, slot);
}

/* The TCP counters of a full TCP socket into e (its state and protocol are read). */
static __always_inline void nt_read_tcp(struct sock *sk, struct nt_sock_event *e)
{
	struct inet_connection_sock *icsk = (struct inet_connection_sock *)sk;
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	__u32 undo_marker;

	if (e->state == NT_TCP_TIME_WAIT || e->state == NT_TCP_NEW_SYN_RECV)
		return;   /* not a full socket: no TCP counters */
	if (e->protocol != NT_IPPROTO_TCP)
		return;
	e->ca_state = nt_icsk_ca_state(icsk);
	e->retransmits = NT_READ(icsk, icsk_retransmits);
	e->backoff = NT_READ(icsk, icsk_backoff);
	e->rto = NT_READ(icsk, icsk_rto);
	e->packets_out = NT_READ(tp, packets_out);
	e->retrans_out = NT_READ(tp, retrans_out);
	e->lost_out = NT_READ(tp, lost_out);
	e->sacked_out = NT_READ(tp, sacked_out);
	e->total_retrans = NT_READ(tp, total_retrans);
	e->snd_cwnd = NT_READ(tp, snd_cwnd);
	e->snd_ssthresh = NT_READ(tp, snd_ssthresh);
	e->srtt_us = NT_READ(tp, srtt_us) >> 3;
	e->rtt_us = NT_READ(tp, rack.rtt_us);
	e->min_rtt_us = NT_READ(tp, rtt_min.s[0].v);
	undo_marker = NT_READ(tp, undo_marker);
	if (!undo_marker)
		e->flags |= NT_SOCK_UNDO_CLEARED;
}

#endif
