#!/usr/bin/env bash
# Pin the Dockerfile's base images by digest: each `ARG *_IMAGE=<name>:<tag>[@sha256:…]` line
# gets the digest the registry serves today for <name>:<tag> (the multi-platform index).
#   deploy/docker/pin-bases.sh            rewrite deploy/docker/Dockerfile
# Needs registry access and `docker buildx` (or `crane`). Review the diff, rebuild, commit.
set -euo pipefail

DOCKERFILE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/Dockerfile"

digest_of() {
  if command -v crane >/dev/null 2>&1; then
    crane digest "$1"
  else
    docker buildx imagetools inspect "$1" --format '{{json .Manifest.Digest}}' | tr -d '"'
  fi
}

main() {
  local line name ref digest
  while IFS= read -r line; do
    name="${line%%=*}"
    ref="${line#*=}"
    ref="${ref%%@*}"
    digest="$(digest_of "${ref}")"
    [[ "${digest}" =~ ^sha256:[0-9a-f]{64}$ ]] || {
      echo "pin-bases: no digest for ${ref}: ${digest}" >&2
      return 1
    }
    sed -i "s|^${name}=.*$|${name}=${ref}@${digest}|" "${DOCKERFILE}"
    echo "${ref} -> ${digest}"
  done < <(grep -E '^ARG [A-Z_]+_IMAGE=' "${DOCKERFILE}")
}

main "$@"
