/**
 * The YAML parser nettrace reads its data files with (the tracer tree, the
 * rules, the drop reasons' texts): the `yaml` package's ES module build. Its
 * Node build requires `node:process` and `node:buffer`, and loading Deno's
 * Node layer for them cost every start 30 ms of CPU on the development
 * machine (17% of --drop's start-up CPU in the test guests, profiled); this build uses
 * neither.
 * @module
 */
// @ts-types="yaml"
export { isMap, isScalar, isSeq, LineCounter, parseDocument } from "../../node_modules/yaml/browser/dist/index.js";
export type { YAMLMap } from "yaml";
