#!/usr/bin/env bash
# The llama.cpp shared libraries the LLM engine binds to (java.lang.foreign): the CPU build of llama.cpp v0.5.0
# that the npm package @node-llama-cpp/linux-x64@3.22.1 ships, fetched by name with npm, checked against the
# integrity recorded here, and extracted into a cache directory (never into git). Prints the directory.
#   scripts/llama-natives.sh            (ATRIUM_LLAMA_NATIVES=DIR puts them elsewhere)
# Exit 0: the directory holds them. Exit 3: npm is missing (the server still serves everything but GGUF models).
set -euo pipefail
package="@node-llama-cpp/linux-x64"
version="3.22.1"
# the registry's integrity for that tarball (npm pack --json), which npm itself also checks
integrity="sha512-5uCCDNqWCNfaAm8aR/Uzxbo4HBpKgNF91kCHPepKhgMgV2OAmatoefbOlMihsqCiH2Od35E/eUHQCFbfRBJuOg=="
dir="${ATRIUM_LLAMA_NATIVES:-${XDG_CACHE_HOME:-$HOME/.cache}/atrium/llama.cpp/node-llama-cpp-linux-x64-$version}"

if [ -f "$dir/.complete" ]; then
  echo "$dir"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "llama-natives: npm is not installed; GGUF models will not load (apt-get install npm, then run $0)" >&2
  exit 3
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "$package@$version" --silent >/dev/null)
tarball="$(ls "$work"/*.tgz)"
expected="$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
actual="$(sha512sum "$tarball" | cut -d' ' -f1)"
if [ "$expected" != "$actual" ]; then
  echo "llama-natives: $package@$version does not match the recorded sha512; refusing it" >&2
  exit 1
fi
mkdir -p "$work/extract"
tar -xzf "$tarball" -C "$work/extract"
mkdir -p "$(dirname "$dir")"
rm -rf "$dir.partial"
mkdir -p "$dir.partial"
cp "$work/extract/package/bins/linux-x64/"*.so "$work/extract/package/bins/linux-x64/_nlcBuildMetadata.json" \
  "$work/extract/package/LICENSE" "$dir.partial/"
chmod 0644 "$dir.partial/"*
touch "$dir.partial/.complete"
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "$dir"
