#!/usr/bin/env bash
# End-to-end test on a real Kubernetes cluster (kind): builds the operator and Stytch sandbox
# images, runs the sandbox in the cluster, installs the Helm chart pointed at it, applies
# examples/, and checks conditions, status fields, an update, deletion with both deletion
# policies, and the sandbox's request log.
#
# Needs: docker, kind, kubectl, helm, curl, jq. Run from anywhere:
#   bash tests/e2e/kind.sh            # creates cluster "stytch-saml-operator-e2e", deletes it after
#   KEEP_CLUSTER=1 bash tests/e2e/kind.sh
#
# The functions below are also sourced by tests/e2e_script.rs, which runs the cluster-side
# phases (sandbox manifests, helm install, examples, update, deletion, request-log checks)
# against the in-memory Kubernetes sandbox, the Stytch sandbox binary and the operator binary.
# Only what needs Docker (cluster creation, image build and load) is not exercised there.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER=${CLUSTER:-stytch-saml-operator-e2e}
IMAGE_REPOSITORY=${IMAGE_REPOSITORY:-stytch-saml-operator}
SANDBOX_IMAGE_REPOSITORY=${SANDBOX_IMAGE_REPOSITORY:-stytch-saml-operator-sandbox}
IMAGE_TAG=${IMAGE_TAG:-e2e}
RELEASE=${RELEASE:-stytch-saml-operator}
OPERATOR_NS=${OPERATOR_NS:-stytch-saml-operator}
SANDBOX_NS=${SANDBOX_NS:-stytch-sandbox}
# Namespace of the examples (the chart watches only this one: namespaced Roles).
NS=${NS:-e2e}
# The sandbox's NodePort, mapped to this host port by the kind cluster configuration.
SANDBOX_NODE_PORT=30787
SANDBOX_HOST_PORT=${SANDBOX_HOST_PORT:-30787}
# How this script reaches the Stytch sandbox (its request log and admin API).
STYTCH_URL=${STYTCH_URL:-http://127.0.0.1:${SANDBOX_HOST_PORT}}
# How the operator reaches it, inside the cluster.
STYTCH_CLUSTER_URL=${STYTCH_CLUSTER_URL:-http://stytch-sandbox.${SANDBOX_NS}.svc:8787}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-180s}
EXAMPLES_DIR=${EXAMPLES_DIR:-$ROOT/examples}
HELM=${HELM:-helm}

# The project and secret of examples/00-credentials.yaml, and the examples' organizations.
PROJECT=project-test-11111111-1111-1111-1111-111111111111
ACME_ORG=organization-test-00000001-0000-4000-8000-000000000001
VANDELAY_ORG=organization-test-00000007-0000-4000-8000-000000000007
# The existing connection examples/70-adopt-observe-only.yaml adopts (seeded below).
ADOPTED=saml-connection-test-33333333-3333-3333-3333-333333333333
# SamlConnections of examples/ that this script applies, and what each reaches.
READY_EXAMPLES=(acme-okta globex-entra hooli-rotation vandelay-adopted)
PENDING_EXAMPLES=(umbrella-staged soylent-signed)
# examples/30-metadata-url.yaml is skipped: it needs an https IdP metadata server with a
# certificate the operator trusts (tests/examples_kubectl.rs covers it with a local one).
SKIPPED_EXAMPLE=30-metadata-url.yaml

log() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# The Stytch sandbox seed: the examples' project and organizations, plus the connection the
# adoption example names.
seed_yaml() {
  cat <<'SEED'
projects:
  - project_id: project-test-11111111-1111-1111-1111-111111111111
    secret: secret-test-replace-me
    organizations:
      - organization_id: organization-test-00000001-0000-4000-8000-000000000001
        organization_slug: acme
      - organization_id: organization-test-00000002-0000-4000-8000-000000000002
        organization_slug: globex
      - organization_id: organization-test-00000003-0000-4000-8000-000000000003
        organization_slug: initech
      - organization_id: organization-test-00000004-0000-4000-8000-000000000004
        organization_slug: umbrella
      - organization_id: organization-test-00000005-0000-4000-8000-000000000005
        organization_slug: hooli
      - organization_id: organization-test-00000006-0000-4000-8000-000000000006
        organization_slug: soylent
      - organization_id: organization-test-00000007-0000-4000-8000-000000000007
        organization_slug: vandelay
        saml_connections:
          - connection_id: saml-connection-test-33333333-3333-3333-3333-333333333333
            display_name: Vandelay Industries
            identity_provider: generic
            idp_entity_id: https://idp.vandelay.example/saml
            idp_sso_url: https://idp.vandelay.example/saml/sso
            attribute_mapping:
              email: email
              full_name: name
            verification_certificates:
              - certificate: |
                  -----BEGIN CERTIFICATE-----
                  MIIDKTCCAhGgAwIBAgIUOGu+U/Lm6NExhpJP/XGd9eFcOhowDQYJKoZIhvcNAQEL
                  BQAwJDEiMCAGA1UEAwwZb2t0YS0yMDI1LmlkcC5leGFtcGxlLmNvbTAeFw0yNjEy
                  MDMxNjQzMzhaFw0zNjExMzAxNjQzMzhaMCQxIjAgBgNVBAMMGW9rdGEtMjAyNS5p
                  ZHAuZXhhbXBsZS5jb20wggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDF
                  /pcknOiQE8G/t2FsnZWy322AdTJkYmqeT7fZC/ITjsefYCWygxHN0UbWfX/VXCps
                  ZJkwOZPjsVj1AVk6uBZSAhSASLix7IEn0tSnqMb5mK7/Ago3WCKoJQh4L5e14cGM
                  OaKtnHyhFJ6M8Vo8jn3aQ/xSze+rUl0onHcJYAOVmtmQICjH+HSLLcNgWlwpWZM0
                  68B1cHVC2zklzEyKZdfj0IcKznMNTPTOpXuyEz/Aw7v3+xXD5GMt3EroYi/44ViB
                  y84aTGU5M9xRyc0//TT15s97xMz4MLLFCYQuGS+E2flVc81i2HStjAdr01f9DOy5
                  GT6Dn1EgjCd4OnaMEGaTAgMBAAGjUzBRMB0GA1UdDgQWBBRCu7XvjTBCHbASdHNR
                  V+aTeZ91iTAfBgNVHSMEGDAWgBRCu7XvjTBCHbASdHNRV+aTeZ91iTAPBgNVHRMB
                  Af8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IBAQCsmlcX/NJDsFEKOiOvaaBLKrv1
                  VVKNBFM2EtgmN3ZL3SmHmDRWSLVKIdOw7mAqXCWsrF5eMfD51Etyg+Xj9WVop/ob
                  peqrdVVFmVXlbtz3DfqHAkxgTqNgYVYD/cStCZJyD2URh0Q+yb935NlQNn3KDuYv
                  1YM7PZYDGHJhTw638sBYMfeY00r98QvEzQWMDKNdQAMX22madNdHhPGmq91f+cK7
                  OYuN9iXzibQWlJD5QwJg1zKz7cRNgV9aKP4bGi+DpmdnhhS0FSAI7EVzqHHzLbCh
                  2PrCI57VTf5RxhkcG4vonazP6pTmEvpK4iGXaloulyvtOeD3UCnIBzEzI8XT
                  -----END CERTIFICATE-----
SEED
}

# The Stytch sandbox in the cluster: seed ConfigMap, Deployment and a NodePort Service.
sandbox_manifests() {
  local image="${SANDBOX_IMAGE_REPOSITORY}:${IMAGE_TAG}"
  kubectl create namespace "$SANDBOX_NS" --dry-run=client -o yaml
  echo "---"
  seed_yaml | kubectl create configmap stytch-sandbox-seed -n "$SANDBOX_NS" \
    --from-file=seed.yaml=/dev/stdin --dry-run=client -o yaml
  cat <<MANIFESTS
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: stytch-sandbox
  namespace: ${SANDBOX_NS}
  labels: {app.kubernetes.io/name: stytch-sandbox}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: stytch-sandbox}
  template:
    metadata:
      labels: {app.kubernetes.io/name: stytch-sandbox}
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: sandbox
          image: ${image}
          imagePullPolicy: Never
          args: [stytch, --listen, "0.0.0.0:8787", --seed, /seed/seed.yaml, --public-base-url, "${STYTCH_CLUSTER_URL}"]
          ports:
            - {name: http, containerPort: 8787}
          readinessProbe:
            tcpSocket: {port: http}
            periodSeconds: 2
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          volumeMounts:
            - {name: seed, mountPath: /seed, readOnly: true}
      volumes:
        - name: seed
          configMap: {name: stytch-sandbox-seed}
---
apiVersion: v1
kind: Service
metadata:
  name: stytch-sandbox
  namespace: ${SANDBOX_NS}
spec:
  type: NodePort
  selector: {app.kubernetes.io/name: stytch-sandbox}
  ports:
    - {name: http, port: 8787, targetPort: http, nodePort: ${SANDBOX_NODE_PORT}}
MANIFESTS
}

# --- Phases that need Docker (not run by the Rust tests) ----------------------------------------

create_cluster() {
  log "creating kind cluster $CLUSTER"
  if kind get clusters | grep -qx "$CLUSTER"; then
    return
  fi
  kind create cluster --name "$CLUSTER" --wait 120s --config - <<KIND
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    extraPortMappings:
      - containerPort: ${SANDBOX_NODE_PORT}
        hostPort: ${SANDBOX_HOST_PORT}
        listenAddress: 127.0.0.1
KIND
}

build_images() {
  local version
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)
  log "building images (version $version)"
  docker build --build-arg VERSION="$version" --target operator \
    -t "${IMAGE_REPOSITORY}:${IMAGE_TAG}" "$ROOT"
  docker build --build-arg VERSION="$version" --target sandbox \
    -t "${SANDBOX_IMAGE_REPOSITORY}:${IMAGE_TAG}" "$ROOT"
  docker run --rm "${IMAGE_REPOSITORY}:${IMAGE_TAG}" --version | grep -qx "stytch-saml-operator $version" \
    || fail "the image does not report version $version"
  kind load docker-image --name "$CLUSTER" \
    "${IMAGE_REPOSITORY}:${IMAGE_TAG}" "${SANDBOX_IMAGE_REPOSITORY}:${IMAGE_TAG}"
}

# --- Cluster-side phases (also run against the sandboxes by tests/e2e_script.rs) ----------------

deploy_sandbox() {
  log "deploying the Stytch sandbox in namespace $SANDBOX_NS"
  sandbox_manifests | kubectl apply -f -
  kubectl -n "$SANDBOX_NS" wait --for=condition=Available deployment/stytch-sandbox --timeout="$WAIT_TIMEOUT"
  wait_for_stytch
}

# Waits until the request log answers from here.
wait_for_stytch() {
  local i
  for i in $(seq 1 60); do
    if curl -fsS "$STYTCH_URL/__sandbox/requests" >/dev/null 2>&1; then
      return
    fi
    sleep 1
  done
  fail "the Stytch sandbox does not answer at $STYTCH_URL (attempts: $i)"
}

install_operator() {
  log "installing the chart (release $RELEASE in namespace $OPERATOR_NS)"
  kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
  "$HELM" upgrade --install "$RELEASE" "$ROOT/charts/stytch-saml-operator" \
    --namespace "$OPERATOR_NS" --create-namespace \
    --set image.repository="$IMAGE_REPOSITORY" \
    --set image.tag="$IMAGE_TAG" \
    --set image.pullPolicy=Never \
    --set replicaCount=2 \
    --set "watchNamespaces={$NS}" \
    --set stytch.baseUrl="$STYTCH_CLUSTER_URL" \
    --set resyncInterval=30s \
    --set logFormat=text
  kubectl -n "$OPERATOR_NS" wait --for=condition=Available "deployment/$RELEASE" --timeout="$WAIT_TIMEOUT"
}

apply_examples() {
  log "applying examples/ in namespace $NS (skipping $SKIPPED_EXAMPLE)"
  # The Secret examples/60-signing-key.yaml asks the user to create.
  kubectl -n "$NS" create secret generic soylent-saml-keys \
    --from-file=signing.pem="$ROOT/tests/fixtures/rsa-pkcs1-a.pem" --dry-run=client -o yaml \
    | kubectl -n "$NS" apply -f -
  local file
  for file in "$EXAMPLES_DIR"/*.yaml; do
    if [ "$(basename "$file")" = "$SKIPPED_EXAMPLE" ]; then
      continue
    fi
    kubectl -n "$NS" apply -f "$file"
  done
}

wait_for_examples() {
  log "waiting for the examples' promised states"
  local name
  for name in "${READY_EXAMPLES[@]}"; do
    kubectl -n "$NS" wait --for=condition=Ready "samlconnection/$name" --timeout="$WAIT_TIMEOUT"
  done
  # Staged connections: created in Stytch (Synced), pending until the IdP details are filled in.
  for name in "${PENDING_EXAMPLES[@]}"; do
    kubectl -n "$NS" wait --for=condition=Synced "samlconnection/$name" --timeout="$WAIT_TIMEOUT"
    expect_eq "$name Active reason" Pending \
      "$(field "$name" '{.status.conditions[?(@.type=="Active")].reason}')"
    [ -n "$(field "$name" '{.status.acsUrl}')" ] || fail "$name has no status.acsUrl"
  done
  [ -n "$(field soylent-signed '{.status.signingCertificates[0].pem}')" ] \
    || fail "soylent-signed has no signing certificate in status"
  kubectl -n "$NS" get samlconnections
}

check_status() {
  log "checking status fields of acme-okta"
  expect_eq "connectionStatus" active "$(field acme-okta '{.status.connectionStatus}')"
  expect_eq "observedGeneration" "$(field acme-okta '{.metadata.generation}')" \
    "$(field acme-okta '{.status.observedGeneration}')"
  expect_eq "Stalled" False "$(field acme-okta '{.status.conditions[?(@.type=="Stalled")].status}')"
  local id acs
  id=$(field acme-okta '{.status.connectionId}')
  acs=$(field acme-okta '{.status.acsUrl}')
  [ -n "$id" ] || fail "acme-okta has no status.connectionId"
  [ -n "$acs" ] || fail "acme-okta has no status.acsUrl"
  expect_eq "vandelay-adopted connectionId" "$ADOPTED" "$(field vandelay-adopted '{.status.connectionId}')"
}

change_field() {
  log "changing spec.displayName of acme-okta"
  local id generation before
  id=$(field acme-okta '{.status.connectionId}')
  before=$(update_calls "$id")
  kubectl -n "$NS" patch samlconnection acme-okta --type=merge \
    -p '{"spec":{"displayName":"Acme Okta (renamed)"}}'
  generation=$(field acme-okta '{.metadata.generation}')
  wait_for_field acme-okta '{.status.observedGeneration}' "$generation"
  kubectl -n "$NS" wait --for=condition=Ready samlconnection/acme-okta --timeout="$WAIT_TIMEOUT"
  expect_eq "live display_name" "Acme Okta (renamed)" \
    "$(stytch_connections "$ACME_ORG" | jq -r --arg id "$id" '.[] | select(.connection_id == $id) | .display_name')"
  # Exactly one more update: the changed field, written once.
  expect_eq "update_connection calls for acme-okta" "$((before + 1))" "$(update_calls "$id")"
}

# The number of update_connection calls for a connection id.
update_calls() {
  requests | jq --arg id "$1" '[.entries[] | select(.endpoint == "update_connection" and (.path | contains($id)))] | length'
}

delete_both_policies() {
  log "deleting acme-okta (deletionPolicy Delete) and vandelay-adopted (Orphan)"
  local id
  id=$(field acme-okta '{.status.connectionId}')
  kubectl -n "$NS" delete samlconnection acme-okta --timeout="$WAIT_TIMEOUT"
  kubectl -n "$NS" delete samlconnection vandelay-adopted --timeout="$WAIT_TIMEOUT"
  expect_eq "acme connections left in Stytch" 0 \
    "$(stytch_connections "$ACME_ORG" | jq --arg id "$id" '[.[] | select(.connection_id == $id)] | length')"
  expect_eq "vandelay connections left in Stytch (Orphan)" 1 \
    "$(stytch_connections "$VANDELAY_ORG" | jq --arg id "$ADOPTED" '[.[] | select(.connection_id == $id)] | length')"
  expect_eq "delete_connection calls" 1 \
    "$(requests | jq --arg id "$id" '[.entries[] | select(.endpoint == "delete_connection" and (.path | contains($id)))] | length')"
}

check_request_log() {
  log "checking the Stytch sandbox's request log"
  local log_json
  log_json=$(requests)
  # One create per created example: acme, globex, umbrella, hooli, soylent.
  expect_eq "create_connection calls" 5 \
    "$(jq '[.entries[] | select(.endpoint == "create_connection")] | length' <<<"$log_json")"
  expect_eq "delete_connection calls" 1 \
    "$(jq '[.entries[] | select(.endpoint == "delete_connection")] | length' <<<"$log_json")"
  # ObserveOnly never writes.
  expect_eq "writes for vandelay" 0 \
    "$(jq --arg org "$VANDELAY_ORG" --arg id "$ADOPTED" \
      '[.entries[] | select(.write and (.path | contains($org) or contains($id) or contains("vandelay")))] | length' <<<"$log_json")"
  expect_eq "requests answered with 5xx" 0 \
    "$(jq '[.entries[] | select(.status >= 500)] | length' <<<"$log_json")"
  expect_eq "requests with unknown credentials" 0 \
    "$(jq --arg p "$PROJECT" '[.entries[] | select(.project_id != $p)] | length' <<<"$log_json")"
  jq -c '.counters' <<<"$log_json"
}

# --- Helpers -------------------------------------------------------------------------------------

# The Stytch sandbox's request log: {entries: [...], counters: {...}}.
requests() {
  curl -fsS "$STYTCH_URL/__sandbox/requests"
}

# The live connections of an organization, from the sandbox's admin API.
stytch_connections() {
  curl -fsS "$STYTCH_URL/__sandbox/projects/$PROJECT/organizations/$1/connections"
}

# A field of a SamlConnection in $NS, by JSONPath.
field() {
  kubectl -n "$NS" get samlconnection "$1" -o jsonpath="$2"
}

wait_for_field() {
  local i value=""
  for i in $(seq 1 120); do
    value=$(field "$1" "$2")
    if [ "$value" = "$3" ]; then
      return
    fi
    sleep 1
  done
  fail "$1 $2: expected $3, got '$value' after $i s"
}

expect_eq() {
  if [ "$2" != "$3" ]; then
    fail "$1: expected '$2', got '$3'"
  fi
  echo "ok: $1 = $3"
}

diagnostics() {
  log "diagnostics"
  kubectl get samlconnections -A -o yaml || true
  kubectl get events -A --sort-by=.lastTimestamp | tail -n 50 || true
  kubectl -n "$OPERATOR_NS" get pods -o wide || true
  kubectl -n "$OPERATOR_NS" logs "deployment/$RELEASE" --all-containers --tail=200 || true
  kubectl -n "$SANDBOX_NS" logs deployment/stytch-sandbox --tail=100 || true
  curl -fsS "$STYTCH_URL/__sandbox/requests" | jq -c '.entries[]' | tail -n 50 || true
}

cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    diagnostics
  fi
  if [ "${KEEP_CLUSTER:-0}" != 1 ]; then
    kind delete cluster --name "$CLUSTER" || true
  fi
  exit "$status"
}

# The phases after the cluster exists and the images are loaded.
cluster_phases() {
  deploy_sandbox
  install_operator
  apply_examples
  wait_for_examples
  check_status
  change_field
  delete_both_policies
  check_request_log
}

main() {
  local tool
  for tool in docker kind kubectl "$HELM" curl jq; do
    command -v "$tool" >/dev/null || fail "$tool is required"
  done
  trap cleanup EXIT
  create_cluster
  kubectl config use-context "kind-$CLUSTER"
  build_images
  cluster_phases
  log "end-to-end test passed"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
