/**
 * deploy/daemonset.yaml, the cluster form of --monitor: a DaemonSet whose pod runs nettrace with the node's
 * network and PID namespace, the unit's capabilities and none other, the node's BTF and tracefs, and Prometheus'
 * scrape annotations on the port its arguments serve. Without a cluster here (kubectl's dry run needs an API
 * server), the manifest is checked against Kubernetes' own OpenAPI schema (kubernetes-models: the schema kubectl's
 * dry run would fetch from the server), read as Kubernetes reads it, and its container's command and arguments run
 * on this kernel with only those capabilities.
 */
import { load } from "js-yaml";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { assertNothingLeft } from "../helpers/bpf_state.ts";
import { kernelTest } from "../helpers/kernel_env.ts";
import { removeStaleNamespaces, withNet } from "../helpers/netns.ts";
import { NettraceRun } from "../helpers/nettrace_process.ts";
import { metricsUrl, withOnlyCapabilities } from "../helpers/metrics_endpoint.ts";
import { prometheusMissing, PrometheusServer } from "../helpers/prometheus_server.ts";

await removeStaleNamespaces();

const ROOT = new URL("../../", import.meta.url).pathname;
// deno-lint-ignore no-explicit-any
const ds = load(Deno.readTextFileSync(`${ROOT}deploy/daemonset.yaml`)) as any;
const UNIT = Deno.readTextFileSync(`${ROOT}deploy/nettrace-monitor.service`);

/**
 * The schema's complaints about a manifest, or "" when it is valid. kubernetes-models is imported here, by the test
 * that uses it, not with the file: under TCG its modules take minutes to load, for a test the guests filter out.
 */
async function schemaErrors(manifest: unknown): Promise<string> {
  const { DaemonSet } = await import("kubernetes-models/apps/v1/DaemonSet");
  try {
    new DaemonSet(manifest as ConstructorParameters<typeof DaemonSet>[0]).validate();
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

Deno.test("daemonset: the manifest is valid by Kubernetes' schema; a wrong type or a missing selector is not", async () => {
  assertEquals(await schemaErrors(ds), "");
  const wrongPort = structuredClone(ds);
  wrongPort.spec.template.spec.containers[0].ports[0].containerPort = "9464";
  assertMatch(await schemaErrors(wrongPort), /containerPort must be integer/);
  const noSelector = structuredClone(ds);
  delete noSelector.spec.selector;
  assertMatch(await schemaErrors(noSelector), /required property 'selector'|required property selector/);
});

Deno.test("daemonset: a DaemonSet of nettrace --monitor on the node's network, scraped where its metrics are", () => {
  assertEquals([ds.apiVersion, ds.kind], ["apps/v1", "DaemonSet"]);
  assertEquals(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels);
  const pod = ds.spec.template.spec;
  assertEquals([pod.hostNetwork, pod.hostPID], [true, true]);
  assertEquals(pod.containers.length, 1);
  const c = pod.containers[0];
  assertEquals(c.command, ["/usr/bin/nettrace"]);
  assertEquals(c.args.slice(0, 2), ["--monitor", "--metrics"]);
  const port = Number(c.args[2].split(":").at(-1));
  const a = ds.spec.template.metadata.annotations;
  assertEquals([a["prometheus.io/scrape"], Number(a["prometheus.io/port"]), a["prometheus.io/path"]], [
    "true",
    port,
    "/metrics",
  ]);
  assertEquals(c.ports.map((p: { containerPort: number }) => p.containerPort), [port]);
  // the unit's capabilities, no more: not privileged, everything else dropped
  const unitCaps = UNIT.match(/^AmbientCapabilities=(.*)$/m)![1].split(/\s+/).map((x) => x.replace(/^CAP_/, ""));
  assertEquals(c.securityContext.capabilities.drop, ["ALL"]);
  assertEquals([...c.securityContext.capabilities.add].sort(), [...unitCaps].sort());
  assertEquals([c.securityContext.privileged, c.securityContext.allowPrivilegeEscalation], [false, false]);
  // the node's BTF and tracefs, mounted where nettrace reads them
  const mounts = new Map(c.volumeMounts.map((m: { name: string; mountPath: string }) => [m.name, m.mountPath]));
  for (const v of pod.volumes) assertEquals(mounts.get(v.name), v.hostPath.path, v.name);
  assert([...mounts.values()].includes("/sys/kernel/btf") && [...mounts.values()].includes("/sys/kernel/tracing"));
});

kernelTest(
  "daemonset: the container's command and arguments, with only its capabilities, monitor this kernel; a real Prometheus counts the drops",
  async () => {
    const c = ds.spec.template.spec.containers[0];
    // its address would be the node's: a free loopback port here
    const args = [...c.args.slice(0, 2), "127.0.0.1:0"];
    const command = withOnlyCapabilities(c.securityContext.capabilities.add, args);
    await withNet("dset", async (net) => {
      const run = await NettraceRun.start(args, 60000, command);
      let prom: PrometheusServer | undefined;
      try {
        const url = new URL(metricsUrl(run));
        // the path the pod's scrape annotations give Prometheus
        assertEquals(url.pathname, ds.spec.template.metadata.annotations["prometheus.io/path"]);
        await net.tcpConnect(net.a, net.v4.b, 7561);
        assert(await run.waitForLine(/:7561 .*\*tcp port is not listened/, 10000), `${run.stdout}\n${run.stderr}`);
        assertMatch(
          await (await fetch(url)).text(),
          /^nettrace_drops_total\{reason="NO_SOCKET",location="tcp_v4_rcv"/m,
        );
        // 7 datagrams to a closed port, counted through a real Prometheus scraping it
        prom = await PrometheusServer.start("nettrace", url.host);
        assertEquals(await prom.waitFor(`up{job="nettrace"}`, (v) => v === 1, 30000), 1, await prom.logTail());
        for (let i = 0; i < 7; i++) await net.udpSend(net.a, net.v4.b, 7562, `pod-${i}`);
        const query = `sum(nettrace_drops_total{netns="${net.netnsInode(net.b)}",location="__udp4_lib_rcv"})`;
        assertEquals(await prom.waitFor(query, (v) => v === 7, 30000), 7, `${query} through Prometheus`);
      } finally {
        await prom?.stop();
        await run.stop();
      }
    });
    await assertNothingLeft("the DaemonSet's command");
  },
  prometheusMissing(),
);
