// SPDX-License-Identifier: GPL-2.0
/*
 * The filter regions of pcap_filter.h in a program the kernel can test-run
 * (BPF_PROG_TEST_RUN), for the tests that compare nettrace's translation of
 * tcpdump expressions with libpcap's verdicts. The test packet follows a
 * 14-byte prefix whose first byte chooses the region: 0 Ethernet, 1 raw IP.
 * XDP_PASS: the expression matches; XDP_DROP: it does not.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kernel.h"
#include "nettrace.h"
#include "skb_packet.h"
#include "pcap_filter.h"

#define PREFIX 14

SEC("xdp")
int pcap_test(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	struct nt_pcap_scratch *s;

	if (data + PREFIX > end)
		return XDP_ABORTED;
	s = nt_pcap_scratch();
	if (!s)
		return XDP_ABORTED;
	/* the address as a number in the scratch, as skb->head + offset is in the tracing programs */
	s->data = (__u64)(data + PREFIX);
	s->len = end - data - PREFIX;
	s->caplen = s->len;
	if (data[0])
		return nt_pcap_l3(s) ? XDP_PASS : XDP_DROP;
	return nt_pcap_l2(s) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
