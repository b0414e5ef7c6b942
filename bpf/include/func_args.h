/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Arguments of a kernel function by position, for programs attached to
 * functions whose signature differs between kernels (the TypeScript side reads
 * the positions from the running kernel's BTF and sets them in .rodata).
 */
#ifndef NETTRACE_FUNC_ARGS_H
#define NETTRACE_FUNC_ARGS_H

#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define NT_NO_ARG 0xff

/* Argument n (0-based) of a kprobe or kprobe-multi at function entry. Read
 * with CO-RE probe reads: a direct ctx->di/si/... chain gets folded by clang
 * into one load at a computed offset, which the verifier refuses for ctx. */
static __always_inline __u64 nt_kprobe_arg(struct pt_regs *ctx, __u32 n)
{
	if (n == 0)
		return PT_REGS_PARM1_CORE(ctx);
	if (n == 1)
		return PT_REGS_PARM2_CORE(ctx);
	if (n == 2)
		return PT_REGS_PARM3_CORE(ctx);
	if (n == 3)
		return PT_REGS_PARM4_CORE(ctx);
	if (n == 4)
		return PT_REGS_PARM5_CORE(ctx);
	return 0;
}

/* The address a kprobe at function entry returns to: the call site. */
static __always_inline __u64 nt_kprobe_caller(struct pt_regs *ctx)
{
	__u64 ret = 0;

	bpf_probe_read_kernel(&ret, sizeof(ret), (void *)PT_REGS_SP(ctx));
	return ret;
}

/* Argument n of an fentry/fexit program. */
static __always_inline __u64 nt_fentry_arg(void *ctx, __u32 n)
{
	__u64 v = 0;

	bpf_get_func_arg(ctx, n, &v);
	return v;
}

#endif
