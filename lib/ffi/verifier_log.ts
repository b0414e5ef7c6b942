/**
 * The kernel's reason for refusing a program, out of a verifier log: its last
 * lines but the statistics. A log runs to hundreds of lines of register
 * states; an error message holds one line.
 */

const STATISTICS = /^(processed|verification time|stack depth|-- END PROG LOAD LOG --)/;

/** The last two meaningful lines of a verifier log, joined with "; ". */
export function verifierReason(log: string): string {
  const lines = log.split("\n").map((l) => l.trim()).filter((l) => l && !STATISTICS.test(l));
  return lines.slice(-2).join("; ");
}

/**
 * One libbpf message as one line: libbpf prints a refused program's whole verifier log as one message
 * ("prog 'x': -- BEGIN PROG LOAD LOG --\n...\n-- END PROG LOAD LOG --"); that becomes "prog 'x': verifier: REASON".
 */
export function oneLineLibbpfMessage(message: string): string {
  const begin = message.indexOf("-- BEGIN PROG LOAD LOG --");
  if (begin < 0) return message.replace(/\s*\n\s*/g, " ");
  const head = message.slice(0, begin).trim();
  return `${head} verifier: ${verifierReason(message.slice(begin + "-- BEGIN PROG LOAD LOG --".length))}`;
}
