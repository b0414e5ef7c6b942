/**
 * Stopping a run: SIGINT/SIGTERM, or the mode itself (-c reached).
 * @module
 */

const SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** A stop flag set by signals or by request; dispose() removes the signal handlers. */
export class StopSignal {
  #stopped = false;
  #reason = "";
  #handler = (): void => this.request("signal");

  constructor() {
    for (const s of SIGNALS) Deno.addSignalListener(s, this.#handler);
  }

  /** Whether the run should end. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Why it stopped: "signal", "count", ... */
  get reason(): string {
    return this.#reason;
  }

  /** Asks the run to end. */
  request(reason: string): void {
    if (!this.#stopped) this.#reason = reason;
    this.#stopped = true;
  }

  /** Removes the signal handlers. */
  dispose(): void {
    for (const s of SIGNALS) Deno.removeSignalListener(s, this.#handler);
  }
}
