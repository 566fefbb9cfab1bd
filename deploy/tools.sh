#!/usr/bin/env bash
# Offline-check tools, built or installed on first use and cached under deploy/.tools/.
#   deploy/tools.sh helm     print the path of the helm binary (building it if missing)
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS_DIR="${DEPLOY_DIR}/.tools"

# helm from the Go module proxy: `go install` builds it once; the binary is keyed by version.
ensure_helm() {
  local bin_dir="${TOOLS_DIR}/helm-${HELM_VERSION}"
  local helm="${bin_dir}/helm"
  if [[ ! -x "${helm}" ]]; then
    if ! command -v go >/dev/null 2>&1; then
      echo "tools.sh: go is needed to build helm ${HELM_VERSION} (or put helm in ${bin_dir})" >&2
      return 1
    fi
    mkdir -p "${bin_dir}"
    echo "tools.sh: building helm ${HELM_VERSION} with go install (first run only)" >&2
    GOBIN="${bin_dir}" CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" >&2
  fi
  printf '%s\n' "${helm}"
}

main() {
  case "${1:-}" in
    helm) ensure_helm ;;
    *)
      echo "usage: $0 helm" >&2
      return 2
      ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
  main "$@"
fi
