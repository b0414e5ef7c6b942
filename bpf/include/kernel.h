/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's types, and how nettrace's programs read kernel memory through
 * them. Every program includes this first.
 *
 * The usual build (CO-RE): the types come from vmlinux.h, and libbpf relocates
 * each read against the running kernel's BTF (or a --btf file), so one object
 * fits every kernel with BTF.
 *
 * The compat build (-DNT_COMPAT, scripts/build-bpf.sh --compat
 * KERNEL_HEADERS_DIR): the types come from one kernel's own headers, and a
 * read is a plain probe read at an offset fixed when compiling. The object
 * needs no BTF at run time and fits that kernel only. What CO-RE asks the
 * running kernel (does this field, this type exist?) the headers answer at
 * build time.
 */
#ifndef NETTRACE_KERNEL_H
#define NETTRACE_KERNEL_H

#ifdef NT_COMPAT
#include <linux/version.h>
#include <linux/types.h>
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <linux/tcp.h>
#include <linux/trace_events.h>
#include <net/sock.h>
#include <net/inet_connection_sock.h>
#if IS_ENABLED(CONFIG_NF_TABLES)
#include <net/netfilter/nf_tables.h>
#endif
#include <uapi/linux/bpf.h>
/* sock.h's shorthand for __sk_common.skc_state would rename nettrace's own field */
#undef sk_state
/* bpf_helpers.h's __noinline is __attribute__((noinline)), and the kernel's noinline a macro */
#define __noinline __attribute__((__noinline__))
#else
#include "vmlinux.h"
#endif
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#ifdef NT_COMPAT

/* bpf_probe_read_kernel came in 5.5; bpf_probe_read reads kernel memory on
 * every architecture nettrace builds for (x86_64, arm64) */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 5, 0)
#define bpf_probe_read_kernel bpf_probe_read
#define bpf_probe_read_kernel_str bpf_probe_read_str
#endif

#define NT_READ BPF_PROBE_READ
#define NT_READ_STR_INTO BPF_PROBE_READ_STR_INTO
#define nt_read_into(dst, size, src) bpf_probe_read_kernel(dst, size, src)

/* The record of the skb:kfree_skb tracepoint: no BTF type for it in the
 * headers (the kernel makes it with TRACE_EVENT); its format file says the
 * same, and it gained the reason in 5.17. */
struct trace_event_raw_kfree_skb {
	struct trace_entry ent;
	void *skbaddr;
	void *location;
	unsigned short protocol;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 17, 0)
	enum skb_drop_reason reason;
#endif
	char __data[0];
};
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 17, 0)
#define NT_KFREE_SKB_REASON(ctx) ((ctx)->reason)
#else
#define NT_KFREE_SKB_REASON(ctx) 0
#endif

#define NT_SK_HAS_V6(sk) IS_ENABLED(CONFIG_IPV6)
#define NT_HAS_NFT_CHAIN IS_ENABLED(CONFIG_NF_TABLES)
#define NT_HAS_XT_TABLE 1

/* sock.sk_protocol: 16 bits of its own since 5.6, a bitfield in the flags word before */
static __always_inline __u16 nt_sk_protocol(struct sock *sk)
{
#ifdef SK_FL_PROTO_SHIFT
	__u32 flags = 0;

	bpf_probe_read_kernel(&flags, sizeof(flags), (char *)sk + offsetof(struct sock, __sk_flags_offset));
	return (flags & SK_FL_PROTO_MASK) >> SK_FL_PROTO_SHIFT;
#else
	return BPF_PROBE_READ(sk, sk_protocol);
#endif
}

/* icsk_ca_state: the low bits of the byte before icsk_retransmits (a 5-bit
 * field since 4.20, 6 bits before; every state fits in 3), little-endian */
static __always_inline __u8 nt_icsk_ca_state(struct inet_connection_sock *icsk)
{
	__u8 b = 0;

	bpf_probe_read_kernel(&b, 1, (char *)icsk + offsetof(struct inet_connection_sock, icsk_retransmits) - 1);
	return b & 0x1f;
}

#else /* CO-RE */

#define NT_READ BPF_CORE_READ
#define NT_READ_STR_INTO BPF_CORE_READ_STR_INTO
#define nt_read_into(dst, size, src) bpf_core_read(dst, size, src)

#define NT_KFREE_SKB_REASON(ctx) (bpf_core_field_exists((ctx)->reason) ? (ctx)->reason : 0)
#define NT_SK_HAS_V6(sk) bpf_core_field_exists((sk)->__sk_common.skc_v6_daddr)
/* nf_tables and x_tables may be modules: without their BTF at load, what needs them is left out */
#define NT_HAS_NFT_CHAIN bpf_core_type_exists(struct nft_chain)
#define NT_HAS_XT_TABLE bpf_core_type_exists(struct xt_table)

static __always_inline __u16 nt_sk_protocol(struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

static __always_inline __u8 nt_icsk_ca_state(struct inet_connection_sock *icsk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state);
}

#endif /* NT_COMPAT */

/* A kprobe's argument register (__PT_PARM1_REG, ...), read from pt_regs in
 * memory, not straight from ctx (see func_args.h) */
#define NT_REGS_PARM(ctx, reg) NT_READ(__PT_REGS_CAST(ctx), reg)

#endif
