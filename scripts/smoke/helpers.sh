# scripts/smoke/helpers.sh: reporting and HTTP/container helpers of scripts/docker-smoke.

say() { printf 'docker-smoke: %s\n' "$*"; }
pass() { say "PASS  $*"; SUMMARY+=("PASS  $*"); }
fail() { say "FAIL  $*"; SUMMARY+=("FAIL  $*"); FAILS=$((FAILS + 1)); }
elapsed() { echo $(( $(date +%s) - ${1:-$T_START} )); }
loud() {
    printf '\n%s\n' "########################################################################"
    printf '### docker-smoke: %s\n' "$@"
    printf '%s\n\n' "########################################################################"
}

finish() {
    say "---- summary ($(elapsed) s) ----"
    local line
    for line in "${SUMMARY[@]}"; do say "$line"; done
    if (( FAILS > 0 )); then
        say "RESULT: FAIL ($FAILS check(s) failed)"
        exit 1
    fi
    say "RESULT: PASS"
    exit 0
}

# Podman cannot be used here: a loud message, then exit 1 (or 0 with DOCKER_SMOKE_OPTIONAL=1).
unavailable() {
    loud "$@" "The Docker image was NOT built or tested."
    if [[ "${DOCKER_SMOKE_OPTIONAL:-0}" == 1 ]]; then
        say "SKIPPED: DOCKER_SMOKE_OPTIONAL=1, so this is not a failure"
        exit 0
    fi
    say "FAIL: set DOCKER_SMOKE_OPTIONAL=1 to tolerate this"
    exit 1
}


# The image listens on 0.0.0.0 (checked above); with the host network the smoke binds 127.0.0.1.
# The demo port stays the same across restarts: the demo's article URLs contain it.
start_daemon() {
    "${P[@]}" run -d --name "$1" --network=host -v "$VOLUME:/app/state" \
        -e MONITOR_OPS__HOST=127.0.0.1 -e MONITOR_OPS__PORT="$OPS_PORT" \
        "$IMAGE" run --demo --demo-port "$DEMO_PORT" >/dev/null 2>>"$W/podman-run.log" \
        || { cat "$W/podman-run.log"; return 1; }
}

# One-off container on the state volume, no daemon, no network.
oneoff() {
    "${P[@]}" run --rm --network=none --no-healthcheck -v "$VOLUME:/app/state" "$@" 2>>"$W/podman-run.log"
}

# GET url -> "STATUS BODY" (STATUS 000 when nothing answers)
http_get() {
    python3 - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
        print(r.status, r.read(4000).decode("utf-8", "replace").replace("\n", "\\n"))
except urllib.error.HTTPError as e:
    print(e.code, e.read(4000).decode("utf-8", "replace").replace("\n", "\\n"))
except Exception as e:
    print("000", type(e).__name__, e)
EOF
}

running() { [[ "$("${P[@]}" inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" == true ]]; }

# Wait up to $2 s for /healthz to answer 200 with status ok; prints the seconds it took.
wait_healthy() {
    local name=$1 limit=$2 t0 out
    t0=$(date +%s)
    while (( $(elapsed "$t0") < limit )); do
        out=$(http_get "http://127.0.0.1:$OPS_PORT/healthz")
        if [[ "$out" == "200 "* && "$out" == *'"status": "ok"'* ]]; then
            say "healthz after $(elapsed "$t0") s: ${out:0:300}"
            return 0
        fi
        if ! running "$name"; then
            say "container $name is not running; last /healthz: ${out:0:300}"
            return 1
        fi
        sleep 1
    done
    say "no healthy /healthz within $limit s; last answer: ${out:0:300}"
    return 1
}

COUNT_PY="import sqlite3; print(sqlite3.connect('/app/state/demo.db').execute('select count(*) from articles').fetchone()[0])"
count_articles() {   # in the running container $1
    "${P[@]}" exec "$1" python3 -c "$COUNT_PY" 2>&1
}

# Every demo feed polled at least once and none failed (up to $2 s): prints name=status pairs.
FEEDS_PY="import sqlite3
rows = sqlite3.connect('/app/state/demo.db').execute('select name, last_status, last_error from feeds order by name').fetchall()
print(' '.join('%s=%s' % (n, s or 'never') for n, s, e in rows))
for n, s, e in rows:
    if s == 'failed':
        print('  %s: %s' % (n, e))"
demo_feeds_ok() {
    local t0 out
    t0=$(date +%s)
    while :; do
        out=$("${P[@]}" exec "$1" python3 -c "$FEEDS_PY" 2>&1)
        if [[ "$out" != *=never* ]] || (( $(elapsed "$t0") >= $2 )); then break; fi
        sleep 1
    done
    printf '%s\n' "$out"
    [[ -n "$out" && "$out" != *=never* && "$out" != *=failed* && "$out" == *=* ]]
}

# The daemon's last feed success per /healthz (epoch seconds, 0 if absent).
last_feed_success() {
    http_get "http://127.0.0.1:$OPS_PORT/healthz" | python3 -c '
import json, sys
try:
    print(int(float(json.loads(sys.stdin.read().split(" ", 1)[1]).get("last_feed_success") or 0)))
except Exception:
    print(0)'
}

# SIGTERM via podman stop (the image's STOPSIGNAL), 30 s grace: exit code 0 and well before 30 s.
stop_and_check() {
    local name=$1 label=$2 t0 secs code
    t0=$(date +%s)
    "${P[@]}" stop -t 30 "$name" >/dev/null 2>&1
    "${P[@]}" wait "$name" >/dev/null 2>&1
    secs=$(elapsed "$t0")
    code=$("${P[@]}" inspect --format '{{.State.ExitCode}}' "$name" 2>/dev/null)
    if [[ "$code" == 0 ]] && (( secs < 30 )); then
        pass "$label: SIGTERM stopped it in $secs s (grace 30 s) with exit code 0"
    else
        "${P[@]}" logs --tail 20 "$name" 2>&1
        fail "$label: after SIGTERM exit code ${code:-?} after $secs s (want 0 within 30 s)"
    fi
}

show_logs() { say "---- last log lines of $1 ----"; "${P[@]}" logs --tail "${2:-30}" "$1" 2>&1 | sed 's/^/    /'; }

