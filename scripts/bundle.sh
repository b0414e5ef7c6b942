#!/usr/bin/env bash
# The program in one file: deno bundle of main.ts (BPF objects, tracer tree and
# rules embedded), written as ASCII. A character outside Latin-1 anywhere in a
# script (a quotation mark in a package's comment is enough) makes V8 keep the
# whole source, which it keeps for the run, at two bytes a character: each is
# written as its \u escape, which means the same in strings, regular
# expressions and identifiers, and nothing in comments.
#
#   scripts/bundle.sh DENO OUTPUT      (DENO: the Deno binary; scripts/package.sh and the tests call it)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
[ $# = 2 ] || { echo "usage: scripts/bundle.sh DENO OUTPUT" >&2; exit 2; }
DENO=$1 OUT=$2
"$DENO" bundle --quiet --config "$ROOT/deno.json" --output "$OUT.tmp" "$ROOT/main.ts"
# code points above U+FFFF become a surrogate pair, as a JavaScript string holds them
perl -CSD -pe 's/([^\x00-\x7f])/my $c = ord($1); $c > 0xffff
  ? sprintf("\\u%04x\\u%04x", 0xd800 + (($c - 0x10000) >> 10), 0xdc00 + (($c - 0x10000) & 0x3ff))
  : sprintf("\\u%04x", $c)/ge' "$OUT.tmp" > "$OUT.ascii"
rm -f "$OUT.tmp"
mv "$OUT.ascii" "$OUT"
