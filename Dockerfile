# nettrace in a container: docker run --privileged nettrace --drop
#
# Build stage: compiles the CO-RE BPF objects and a single nettrace binary
# (deno compile embeds main.ts, its modules and the BPF objects as bytes).
# deno compile downloads the Deno runtime it embeds: build on a connected machine.
FROM debian:bookworm AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      clang llvm libbpf-dev bpftool nodejs npm ca-certificates >/dev/null
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --ignore-scripts --no-audit --no-fund
COPY . .
# vmlinux.h comes from the BTF of the machine that builds; the objects are CO-RE
# and run on other kernels. Without /sys/kernel/btf/vmlinux in the build
# container, pass one: --build-arg BTF=path/inside/context
ARG BTF=/sys/kernel/btf/vmlinux
RUN scripts/build-bpf.sh --btf "$BTF" \
 && node_modules/.bin/deno compile --allow-all \
      --config deno.json --output /out/nettrace main.ts

# Run stage: the binary and the system libbpf it binds with FFI.
FROM debian:bookworm-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libbpf1 >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/nettrace /usr/bin/nettrace
ENTRYPOINT ["/usr/bin/nettrace"]
CMD ["--drop"]
