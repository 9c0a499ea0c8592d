#!/usr/bin/env bash
# Browser tests of the web UI: builds the real server, loads a small demo database, starts it on a free port,
# runs e2e/tests/*.test.mjs with node's own test runner against headless Debian chromium (driven by
# playwright-core; no browser is ever downloaded), saves a screenshot per test under test-artifacts/e2e/, and
# stops the server.
#
#   bash e2e/run.sh            # from anywhere; honours CARGO_TARGET_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM_PATH" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "e2e: $CHROMIUM_PATH is missing; install Debian's chromium package (apt-get install chromium)" >&2
    exit 1
  fi
fi

# Chinese pages need a CJK font, or screenshots show empty boxes (the tests read text, not pixels).
if ! fc-list :lang=zh 2>/dev/null | grep -q . && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> installing a CJK font for screenshots"
  (apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; }) ||
    echo "e2e: could not install fonts-noto-cjk; screenshots of Chinese text will show boxes" >&2
fi

echo "==> e2e: npm packages (playwright-core only)"
(cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

echo "==> e2e: building the server"
cargo build -p guanxi --locked --quiet
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/guanxi"

DATA="$(mktemp -d "${TMPDIR:-/tmp}/guanxi-e2e.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

echo "==> e2e: demo data"
"$BIN" --data-dir "$DATA" demo --no-serve --contacts 400 --orders 800 >"$DATA/demo.log" 2>&1 ||
  { cat "$DATA/demo.log" >&2; exit 1; }

PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
URL="http://127.0.0.1:$PORT"
"$BIN" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if "$BIN" healthcheck --url "$URL" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$DATA/server.log" >&2; exit 1; fi
  sleep 0.2
done

mkdir -p "$ROOT/test-artifacts/e2e"
echo "==> e2e: browser tests against $URL"
status=0
GUANXI_URL="$URL" ARTIFACTS="$ROOT/test-artifacts/e2e" node --test --test-concurrency=1 e2e/tests/*.test.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 50 lines) ---" >&2
  tail -n 50 "$DATA/server.log" >&2
fi
exit "$status"
