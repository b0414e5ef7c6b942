/** ELF bytes (gzip) of bpf/life.bpf.c, events through the ring buffer. Imported when first needed (src/bpf/objects.ts). @module */
import bytes from "../../../bpf/.output/life.bpf.o.gz" with { type: "bytes" };
export default bytes;
