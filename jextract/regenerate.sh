#!/usr/bin/env bash
# Regenerates the java.lang.foreign bindings of native/include/offload.h into
# java/dev/offload/internal/ffi/ with a jextract found on PATH (or named by $JEXTRACT).
#
#   jextract/regenerate.sh
#
# It refreshes jextract/includes.txt (every symbol the header itself declares, none from system
# headers), runs jextract with jextract/offload.args, and records the header's SHA-256 in
# jextract/offload.h.sha256; HeaderBindingsTest fails when the header changes without this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jextract=${JEXTRACT:-$(command -v jextract || true)}
if [ -z "$jextract" ]; then
  echo "regenerate.sh: no jextract on PATH and JEXTRACT is not set" >&2
  exit 2
fi
header=native/include/offload.h
out=java/dev/offload/internal/ffi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

"$jextract" --dump-includes "$tmp" "$header" >/dev/null
grep "header: .*/offload.h\$" "$tmp" | sed 's/ *#.*$//' | sort > jextract/includes.txt

rm -rf "$out"
"$jextract" @jextract/offload.args @jextract/includes.txt "$header"
sha256sum "$header" | cut -d' ' -f1 > jextract/offload.h.sha256
echo "regenerated $(find "$out" -name '*.java' | wc -l) files in $out from $header"
