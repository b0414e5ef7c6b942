/** nettrace's version, printed by -V. */
export const VERSION = "0.1.0";
