#!/usr/bin/env bash
# Install what the harness's tests use beyond Python packages, where it is missing: Debian's
# PostgreSQL server binaries (the data-fix tests start a throwaway server on loopback), Chromium
# (the report's browser test), openssl (an evidence bundle checked with openssl alone) and a headless Java
# runtime (the DCC's signing tool), the Allure command
# line (npm package `allure`, Allure 3) into .cache/allure, and the DCC's own DUIS tools at pinned
# versions into .cache/dcc-tools (npm: @smartdcc/duis-sign-wrap, whose dist/tool.jar is the DCC's
# dccboxed-signing-tool, and @smartdcc/duis-parser; tests/test_dcc_tools.py, adapters/dcc_tools). Used by scripts/setup-and-run.sh and .ci/run. Needs root (or sudo) for apt-get;
# without it, it says what is missing and carries on (those tests then skip, saying why).
set -uo pipefail
cd "$(dirname "$0")/.."
say() { echo "install-deps: $*" >&2; }

need=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)     # the evidence bundle's check with openssl alone
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="$(command -v sudo || true)"
  if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then
    say "installing ${need[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null \
      || say "apt-get failed: ${need[*]} missing (their tests will skip, saying why)"
  else
    say "not root and no sudo: ${need[*]} missing (apt-get install -y ${need[*]}); their tests will skip, saying why"
  fi
fi

if [ ! -x .cache/allure/node_modules/.bin/allure ]; then
  if command -v npm >/dev/null 2>&1; then
    say "installing the Allure command line into .cache/allure (npm)"
    npm install --no-save --no-audit --no-fund --prefix .cache/allure allure@3 >/dev/null \
      || say "npm install allure failed: the Allure HTML test will skip, saying why"
  else
    say "no npm: the Allure command line is not installed (its test will skip, saying why)"
  fi
fi
# The DCC's tools, pinned (adapters/dcc_tools/__init__.py VERSIONS says the same and accepts no other).
DCC_TOOLS=(@smartdcc/duis-sign-wrap@0.1.2 @smartdcc/duis-parser@0.6.0)
have_dcc_tools() {
  grep -qs '"version": "0.1.2"' .cache/dcc-tools/node_modules/@smartdcc/duis-sign-wrap/package.json \
    && grep -qs '"version": "0.6.0"' .cache/dcc-tools/node_modules/@smartdcc/duis-parser/package.json
}
if ! have_dcc_tools; then
  if command -v npm >/dev/null 2>&1; then
    say "installing the DCC's DUIS tools into .cache/dcc-tools (npm: ${DCC_TOOLS[*]})"
    npm install --no-save --no-audit --no-fund --prefix .cache/dcc-tools "${DCC_TOOLS[@]}" >/dev/null \
      || say "npm install of the DCC's tools failed: their tests will skip, saying why"
  else
    say "no npm: the DCC's DUIS tools are not installed (their tests will skip, saying why)"
  fi
fi
exit 0
