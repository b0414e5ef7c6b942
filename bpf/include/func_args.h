/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Arguments of a kernel function by position, for programs attached to
 * functions whose signature differs between kernels (the TypeScript side reads
 * the positions from the running kernel's BTF and sets them in .rodata).
 * Needs kernel.h.
 */
#ifndef NETTRACE_FUNC_ARGS_H
#define NETTRACE_FUNC_ARGS_H


#define NT_NO_ARG 0xff

/* Argument n (0-based) of a kprobe or kprobe-multi at function entry. Read
 * with probe reads (NT_REGS_PARM): a direct ctx->di/si/... chain gets folded by clang
 * into one load at a computed offset, which the verifier refuses for ctx. */
static __always_inline __u64 nt_kprobe_arg(struct pt_regs *ctx, __u32 n)
{
	if (n == 0)
		return NT_REGS_PARM(ctx, __PT_PARM1_REG);
	if (n == 1)
		return NT_REGS_PARM(ctx, __PT_PARM2_REG);
	if (n == 2)
		return NT_REGS_PARM(ctx, __PT_PARM3_REG);
	if (n == 3)
		return NT_REGS_PARM(ctx, __PT_PARM4_REG);
	if (n == 4)
		return NT_REGS_PARM(ctx, __PT_PARM5_REG);
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
