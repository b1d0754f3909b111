#!/usr/bin/env bash
# Runs the hub's OpenAPI document against the hub itself with Schemathesis: every operation, with
# generated valid and invalid input, must answer without a 5xx and only with a status code the
# document declares for it (checks `not_a_server_error` and `status_code_conformance`).
#
# The hub runs from this checkout (debug build) on a free loopback port with the development
# certificates and a throwaway SQLite database. Each agency-and-roles pass gets its own bounded
# budget (max examples per operation and a time limit), so the run stops by itself.
#
#   .ci/schemathesis.sh                      # as CI runs it
#   ST_MAX_EXAMPLES=50 ST_MAX_TIME=300 .ci/schemathesis.sh   # a longer look
#
# Schemathesis is installed from PyPI into a virtualenv under target/ (kept between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

MAX_EXAMPLES="${ST_MAX_EXAMPLES:-10}"
MAX_TIME="${ST_MAX_TIME:-90}"
VENV="${ST_VENV:-target/schemathesis-venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
SCHEMATHESIS_VERSION="${ST_VERSION:->=4.3,<5}"

# Python 3.11's ast module crashes Schemathesis's coverage phase ("AST constructor recursion
# depth mismatch", a CPython bug fixed in 3.12): use a newer interpreter where there is one.
PYTHON=""
for cand in python3.13 python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3; do
  if "$cand" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
    PYTHON="$cand"
    break
  fi
done
PHASES="examples,coverage,fuzzing,stateful"
if [ -z "$PYTHON" ]; then
  PYTHON=python3
  PHASES="examples,fuzzing,stateful"
  echo "note: no Python >= 3.12 here; running without the coverage phase"
fi
if [ ! -x "$VENV/bin/st" ]; then
  echo "installing schemathesis ($SCHEMATHESIS_VERSION) into $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/st" --version

cargo build --locked --quiet --bin tsunagi
HUB_BIN=target/debug/tsunagi

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
HUB_PID=""
cleanup() {
  if [ -n "$HUB_PID" ]; then kill "$HUB_PID" 2>/dev/null || true; wait "$HUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export TSUNAGI_LISTEN="127.0.0.1:$PORT"
export TSUNAGI_DATABASE_URL="sqlite://$WORK/hub.db"
export TSUNAGI_LOG_LEVEL="${TSUNAGI_LOG_LEVEL:-warn}"
"$HUB_BIN" serve >"$WORK/hub.log" 2>&1 &
HUB_PID=$!

BASE="https://localhost:$PORT"
CERTS=certs-dev
for _ in $(seq 1 100); do
  if python3 - "$PORT" <<'EOF' 2>/dev/null; then break; fi
import socket, ssl, sys
ctx = ssl.create_default_context(cafile="certs-dev/ca.pem")
ctx.load_cert_chain("certs-dev/clients/jobota.pem", "certs-dev/clients/jobota.key")
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert s.recv(64).startswith(b"HTTP/1.1 200")
EOF
  if ! kill -0 "$HUB_PID" 2>/dev/null; then
    echo "FAIL: the hub did not start:"; cat "$WORK/hub.log"; exit 1
  fi
  sleep 0.2
done

status=0
# One pass per agency, with the roles whose operations it exercises.
run_as() {
  local agency="$1"; shift
  local role_args=()
  for r in "$@"; do role_args+=(--role "$r"); done
  local token
  token="$("$HUB_BIN" token --user schemathesis --agency "$agency" "${role_args[@]}" --ttl 3600)"
  echo
  echo "==> schemathesis as $agency ($*)"
  # Run from the scratch directory, so Schemathesis's cache (.schemathesis/) stays out of the
  # checkout and every run starts afresh.
  (cd "$WORK" && "$VENV/bin/st" run "$BASE/openapi.json" \
    --url "$BASE" \
    --tls-verify "$ROOT/$CERTS/ca.pem" \
    --request-cert "$ROOT/$CERTS/clients/$agency.pem" \
    --request-cert-key "$ROOT/$CERTS/clients/$agency.key" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance \
    --phases "$PHASES" \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$MAX_TIME" \
    --workers 2 \
    --seed "${ST_SEED:-20261202}" \
    --generation-database none \
    --no-color \
    --output-truncate true) \
    || status=1
}

run_as regional-support-centre caseworker supervisor
run_as welfare-coordination meeting-secretariat caseworker
run_as jobota privacy-officer policy-admin

if grep -q "internal error" "$WORK/hub.log"; then
  echo
  echo "FAIL: the hub logged internal errors:"
  grep "internal error" "$WORK/hub.log" | head -20
  status=1
fi
exit "$status"
