/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where events go. By default the BPF ring buffer (Linux 5.8 and later):
 * a record is reserved in the ring, filled in place and submitted. Built with
 * -DNT_PERF_EVENTS (the *.perf.bpf.o objects), a per-CPU perf buffer, which
 * kernels from 4.x have: a record is filled in a per-CPU staging slot and
 * copied out with bpf_perf_event_output. Either way the caller writes
 *
 *	e = nt_out_reserve(struct nt_event);
 *	if (!e) { nt_count(NT_STAT_LOST); ... }
 *	... fill e ...
 *	nt_out_submit(ctx, e);
 *
 * and a record that does not fit counts as lost (NT_STAT_LOST). A record of
 * variable length (an event with the packet's bytes) is filled in a scratch
 * map and sent with nt_out_copy_size(ctx, p, size). stats.h
 * must come first. The map is named `events` in both objects.
 */
#ifndef NETTRACE_EVENT_OUTPUT_H
#define NETTRACE_EVENT_OUTPUT_H

#ifdef NT_PERF_EVENTS

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

/* the largest record any program writes */
union nt_out_record {
	struct nt_event event;
	struct nt_nf_event nf;
	struct nt_sock_event sock;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, union nt_out_record);
} nt_out_slot SEC(".maps");

static __always_inline void *nt_out_slot_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nt_out_slot, &zero);
}

#define nt_out_reserve(type) ((type *)nt_out_slot_get())
/* copies a record filled elsewhere (a scratch map); non-zero when it did not fit */
#define nt_out_copy(ctx, e) bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*(e)))
/* copies size bytes at p (a record with a variable tail); non-zero when it did not fit */
#define nt_out_copy_size(ctx, p, size) bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, p, size)
#define nt_out_submit(ctx, e)                  \
	do {                                   \
		if (nt_out_copy(ctx, e))       \
			nt_count(NT_STAT_LOST); \
	} while (0)

#else

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);   /* resized before load (--ring-size) */
} events SEC(".maps");

#define nt_out_reserve(type) ((type *)bpf_ringbuf_reserve(&events, sizeof(type), 0))
#define nt_out_submit(ctx, e) bpf_ringbuf_submit(e, 0)
#define nt_out_copy(ctx, e) bpf_ringbuf_output(&events, e, sizeof(*(e)), 0)
#define nt_out_copy_size(ctx, p, size) bpf_ringbuf_output(&events, p, size, 0)

#endif

#endif
