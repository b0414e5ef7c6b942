/** YAML with lines: the values of YAML 1.2's core schema, where each mapping, list and key is written. */
import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { parseYaml, YamlSyntaxError } from "../../src/runtime/yaml.ts";

Deno.test("yaml: values as the core schema reads them, with the line of each mapping, list and key", () => {
  const text = [
    "# a comment",
    "- group: a", // 2
    "  desc: |",
    "    two",
    "    lines",
    "  leaves:", // 6
    "", // 7
    "    - { func: x, skb: 1 }", // 8
    "    - func: y", // 9
    "      end: true", // 10
    "  when: 2001-12-14", // 11: a string in the core schema, not a date
  ].join("\n");
  const doc = parseYaml(text);
  const groups = doc.value as Array<Record<string, unknown>>;
  const g = groups[0];
  const leaves = g.leaves as Array<Record<string, unknown>>;
  assertEquals(g.desc, "two\nlines\n");
  assertEquals(g.when, "2001-12-14");
  assertEquals(leaves, [{ func: "x", skb: 1 }, { func: "y", end: true }]);
  assertEquals(
    [doc.lineOf(groups), doc.lineOf(g), doc.lineOf(leaves), doc.lineOf(leaves[0]), doc.lineOf(leaves[1])],
    [2, 2, 8, 8, 9],
  );
  assertEquals(
    ["group", "desc", "leaves", "when"].map((k) => doc.keyLine(g, k)),
    [2, 3, 6, 11],
  );
  assertEquals([doc.keyLine(leaves[1], "end"), doc.keyLine(g, "none"), doc.lineOf("x")], [10, undefined, undefined]);
});

Deno.test("yaml: a syntax error names its line", () => {
  const e = assertThrows(() => parseYaml("a: 1\nb: [unclosed\nc: 2\n"), YamlSyntaxError) as YamlSyntaxError;
  assertEquals(e.line, 3); // where the unclosed list is found to end
  const dup = assertThrows(() => parseYaml("a: 1\nb: 2\na: 3\n"), YamlSyntaxError) as YamlSyntaxError;
  assertEquals(dup.line, 3);
});
