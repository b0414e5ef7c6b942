/**
 * Names of TCP socket states and congestion-control states, indexed by the
 * kernel's numbers (include/net/tcp_states.h, enum tcp_ca_state). These are
 * the kernel's ABI, stable across versions.
 * @module
 */

/** sk_state: 1 ESTABLISHED ... 12 NEW_SYN_RECV (0 is no state). */
export const TCP_STATES = [
  "",
  "ESTABLISHED",
  "SYN_SENT",
  "SYN_RECV",
  "FIN_WAIT1",
  "FIN_WAIT2",
  "TIME_WAIT",
  "CLOSE",
  "CLOSE_WAIT",
  "LAST_ACK",
  "LISTEN",
  "CLOSING",
  "NEW_SYN_RECV",
];

/** icsk_ca_state: TCP_CA_Open 0 ... TCP_CA_Loss 4. */
export const TCP_CA_STATES = ["Open", "Disorder", "CWR", "Recovery", "Loss"];
