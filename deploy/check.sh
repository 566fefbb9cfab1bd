#!/usr/bin/env bash
# make deploy-check: the deployment, checked with no cluster and no network beyond the
# first build of helm. helm lint + template (defaults with the required values, all
# features, existing secrets; each rendered twice and compared), the bare defaults refused,
# every manifest validated strictly (Kubernetes schemas and ../shared/schemas/crds),
# and hadolint (tests/deploy checks the compose file and the image too).
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

  # The bare defaults must not render: each value with no default is named.
  echo "== helm template (bare defaults: must fail naming the required values)"
  if "${helm}" template leadflow "${CHART}" --kube-version "${KUBE_VERSION}" >/dev/null 2>"${OUT}/bare.err"; then
    echo "deploy-check: the chart rendered without its required values" >&2
    return 1
  fi
  grep -q "missing required values: kafka.bootstrap" "${OUT}/bare.err" || {
    cat "${OUT}/bare.err" >&2
    return 1
  }

  # Defaults + required values, every feature (Strimzi SCRAM over TLS, KEDA, NetworkPolicy,
  # Ingress, PrometheusRule, dashboard), the smallest install on existing secrets.
  for name in required all-features existing-secrets; do
    values="${CHART}/ci/${name}-values.yaml"
    local -a args=(--kube-version "${KUBE_VERSION}" --values "${values}")
    echo "== helm lint (${name})"
    "${helm}" lint --strict "${CHART}" "${args[@]}"
    echo "== helm template (${name}, twice: byte-identical)"
    "${helm}" template leadflow "${CHART}" --namespace leadflow "${args[@]}" >"${OUT}/${name}.yaml"
    "${helm}" template leadflow "${CHART}" --namespace leadflow "${args[@]}" >"${OUT}/${name}.again"
    cmp -s "${OUT}/${name}.yaml" "${OUT}/${name}.again" || {
      echo "deploy-check: two renders of ${name} differ" >&2
      return 1
    }
  done

  echo "== validate manifests"
  "${uv[@]}" run --frozen python deploy/validate.py "${OUT}"/*.yaml

  echo "== chart README generated from values.yaml"
  "${uv[@]}" run --frozen python deploy/helm/readme.py --check

  echo "== hadolint"
  "${uv[@]}" run --frozen hadolint deploy/docker/Dockerfile

  echo "deploy-check: ok in $((SECONDS - started)) s"
}

main "$@"
