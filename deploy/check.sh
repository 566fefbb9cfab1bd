#!/usr/bin/env bash
# make deploy-check: the deployment, checked with no cluster and no network beyond the
# first build of helm. helm lint + template (default and all-features values), every
# manifest validated strictly (Kubernetes schemas and ../shared/schemas/crds), hadolint.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="${ROOT}/deploy/helm/leadflow"
KUBE_VERSION="${KUBE_VERSION:-1.29.0}"

# shellcheck source=deploy/tools.sh
source "${ROOT}/deploy/tools.sh"

OUT="$(mktemp -d)"
trap 'rm -rf "${OUT}"' EXIT

main() {
  local started helm values name
  local -a uv
  read -r -a uv <<<"${UV:-uv}" # the Makefile passes UV="python3 -m uv" where uv is no command
  started=${SECONDS}
  cd "${ROOT}"
  helm="$(ensure_helm)"

  for values in "" "${CHART}/ci/all-features-values.yaml"; do
    name="default"
    local -a args=(--kube-version "${KUBE_VERSION}")
    if [[ -n "${values}" ]]; then
      name="$(basename "${values}" .yaml)"
      args+=(--values "${values}")
    fi
    echo "== helm lint (${name})"
    "${helm}" lint --strict "${CHART}" "${args[@]}"
    echo "== helm template (${name})"
    "${helm}" template leadflow "${CHART}" --namespace leadflow "${args[@]}" >"${OUT}/${name}.yaml"
  done

  echo "== validate manifests"
  "${uv[@]}" run --frozen python deploy/validate.py "${OUT}"/*.yaml

  echo "== hadolint"
  "${uv[@]}" run --frozen hadolint deploy/docker/Dockerfile

  echo "deploy-check: ok in $((SECONDS - started)) s"
}

main "$@"
