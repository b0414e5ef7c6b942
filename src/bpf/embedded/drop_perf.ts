/** ELF bytes (gzip) of bpf/drop.bpf.c, events through the perf buffer. Imported when first needed (src/bpf/objects.ts). @module */
import bytes from "../../../bpf/.output/drop.perf.bpf.o.gz" with { type: "bytes" };
export default bytes;
