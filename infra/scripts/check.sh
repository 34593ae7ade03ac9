#!/usr/bin/env bash
# infra/ check: install, unit tests (incl. cdk-nag), offline synth, cfn-lint.
# Exits non-zero on the first failure. CFN_LINT names the cfn-lint executable (default cfn-lint).
set -euo pipefail

cd "$(dirname "$0")/.."
CFN_LINT="${CFN_LINT:-cfn-lint}"
export CDK_DISABLE_CLI_TELEMETRY=true

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error >/dev/null || fail "npm ci"

step "npm test"
npm test --silent || fail "jest"

step "npm run synth (offline: no AWS credentials, bundling skipped)"
env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY= AWS_SESSION_TOKEN= \
  npm run --silent synth || fail "cdk synth (cdk-nag findings fail synth)"
template=cdk.out/SkipTheLine.template.json
[[ -s "$template" ]] || fail "$template was not written"
echo "ok: $template"

step "cfn-lint ($("$CFN_LINT" --version 2>/dev/null || echo "$CFN_LINT not found"))"
command -v "$CFN_LINT" >/dev/null 2>&1 || fail "cfn-lint not found (set CFN_LINT)"
# .cfnlintrc.yaml ignores W3005 only (CDK-generated DependsOn). Everything else fails the check.
set +e
findings="$("$CFN_LINT" --config-file .cfnlintrc.yaml --format parseable -- "$template")"
lint_rc=$?
set -e
if (( lint_rc != 0 && lint_rc != 2 && lint_rc != 4 && lint_rc != 6 )); then
  printf '%s\n' "$findings"; fail "cfn-lint crashed (exit $lint_rc)"
fi
if [[ -n "$(printf '%s' "$findings" | tr -d '[:space:]')" ]]; then
  printf '%s\n' "$findings"
  fail "cfn-lint reported problems"
fi
echo "ok: cfn-lint clean"

printf '\nPASS: infra checks\n'
