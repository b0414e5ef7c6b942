/** ELF bytes (gzip) of bpf/drop.bpf.c, events through the ring buffer. Imported when first needed (src/bpf/objects.ts). @module */
import bytes from "../../../bpf/.output/drop.bpf.o.gz" with { type: "bytes" };
export default bytes;
