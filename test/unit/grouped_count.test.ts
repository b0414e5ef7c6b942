/** Counts grouped by thousands, as Intl.NumberFormat("en-US") groups them. */
import { assertEquals } from "../helpers/assert.ts";
import { groupedCount } from "../../src/output/grouped_count.ts";

Deno.test("grouped count: commas between groups of three digits, as en-US writes them", () => {
  const values = [0, 7, 999, 1000, 118889, 1234567, 1000000, -1234, 9007199254740991];
  assertEquals(values.map(groupedCount), values.map((v) => v.toLocaleString("en-US")));
  assertEquals(groupedCount(12345678901234567890n), "12,345,678,901,234,567,890");
});
