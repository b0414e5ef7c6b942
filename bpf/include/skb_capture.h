/* SPDX-License-Identifier: GPL-2.0 */
/*
 * -w: the bytes of a packet, sent with its event. An event and its bytes go
 * in one record (struct nt_captured_event, of which only the captured bytes
 * are sent), filled in a per-CPU scratch slot, so no reader has to pair two
 * records. The bytes start at the MAC header where the skb has an Ethernet
 * one in place, else at the IP header; at most snaplen of them, from the
 * skb's linear data. Needs kernel.h, nettrace.h, skb_packet.h, stats.h and event_output.h.
 */
#ifndef NETTRACE_SKB_CAPTURE_H
#define NETTRACE_SKB_CAPTURE_H

#define NT_ARPHRD_ETHER 1
#define NT_ARPHRD_LOOPBACK 772
#define NT_ETH_HLEN 14
#define NT_CAPTURE_HEAD ((__u32)__builtin_offsetof(struct nt_capture, data))

const volatile __u32 snaplen = 0;   /* bytes of each packet sent with its event; 0: none (no -w) */

struct nt_captured_event {
	struct nt_event event;
	struct nt_capture cap;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nt_captured_event);
} captures SEC(".maps");

static __always_inline struct nt_captured_event *nt_capture_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&captures, &zero);
}

/* Fills cap with the skb's bytes; returns how many bytes of cap to send. */
static __always_inline __u32 nt_capture_fill(struct nt_capture *cap, const struct nt_skb *skb)
{
	unsigned char *head = skb->head;
	unsigned char *data = skb->data;
	__u16 mh = skb->mac_header;
	__u16 nh = skb->network_header;
	__u32 tail = skb->tail;
	__u32 len = skb->len;
	__u16 proto = skb->protocol;
	struct net_device *dev = skb->dev;
	__u16 type = dev ? NT_READ(dev, type) : 0;
	__u32 start, size;
	__s64 orig;

	cap->link = 0;
	cap->caplen = 0;
	cap->origlen = 0;
	cap->_pad = 0;
	if (!head || nh == NT_HDR_UNSET)
		return NT_CAPTURE_HEAD;
	if (mh != NT_HDR_UNSET && nh == mh + NT_ETH_HLEN &&
	    (type == NT_ARPHRD_ETHER || type == NT_ARPHRD_LOOPBACK)) {
		start = mh;
		cap->link = NT_LINK_ETHERNET;
	} else if (proto == NT_ETH_P_IP || proto == NT_ETH_P_IPV6) {
		start = nh;
		cap->link = NT_LINK_RAW;
	} else {
		return NT_CAPTURE_HEAD;
	}
	if (tail <= start) {
		cap->link = 0;
		return NT_CAPTURE_HEAD;
	}
	size = tail - start;
	if (size > snaplen)
		size = snaplen;
	if (size > NT_SNAP_MAX)
		size = NT_SNAP_MAX;
	/* the clamped value itself must reach the call, not the copy clang kept from before the clamps */
	asm volatile("" : "+r"(size));
	size &= NT_SNAP_MAX * 2 - 1;
	if (size > NT_SNAP_MAX)
		size = NT_SNAP_MAX;
	if (bpf_probe_read_kernel(cap->data, size, head + start)) {
		cap->link = 0;
		return NT_CAPTURE_HEAD;
	}
	cap->caplen = size;
	/* skb->len counts from skb->data: the packet from start is longer (or shorter) by their distance */
	orig = (__s64)len + (data - head) - start;
	cap->origlen = orig < size ? size : orig;
	return NT_CAPTURE_HEAD + size;
}

/* Sends the event in the slot with the skb's bytes after it; a record that does not fit counts as lost. */
static __always_inline void nt_capture_send(void *ctx, struct nt_captured_event *c, const struct nt_skb *skb)
{
	__u32 n = nt_capture_fill(&c->cap, skb);

	if (nt_out_copy_size(ctx, c, sizeof(struct nt_event) + n))
		nt_count(NT_STAT_LOST);
}

#endif
