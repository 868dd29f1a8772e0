#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a private Redis on a free port and
# a private three-master Redis Cluster, runs every test against them, and stops them again
# even when tests fail.
# Extra arguments go to `swift test` (e.g. --filter RedisIOTests).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$DQL_ROOT"

"$DQL_ROOT/scripts/setup.sh"

note "building"
swift build --build-tests

port=$(free_port)
data_dir=$(mktemp -d "${TMPDIR:-/tmp}/dql-test-redis.XXXXXX")
cluster_base=$(free_cluster_base)
tls_dir="$data_dir/tls"
cleanup() {
    "$DQL_ROOT/scripts/tls.sh" stop --dir "$tls_dir" >/dev/null 2>&1 || true
    "$DQL_ROOT/scripts/redis.sh" stop --port "$port" --dir "$data_dir" >/dev/null 2>&1 || true
    "$DQL_ROOT/scripts/cluster.sh" stop --base-port "$cluster_base" >/dev/null 2>&1 || true
    rm -rf "$data_dir"
}
trap cleanup EXIT
"$DQL_ROOT/scripts/redis.sh" start --port "$port" --dir "$data_dir" --debug-command
"$DQL_ROOT/scripts/cluster.sh" start --base-port "$cluster_base"

# TLS: a test CA, stunnel in front of the test server (a service per certificate case), and
# Debian's own TLS-capable redis-server as a second implementation.
"$DQL_ROOT/scripts/tls.sh" certs "$tls_dir"
tls_main=$(free_port)
tls_client=$(free_port)
tls_expired=$(free_port)
tls_other=$(free_port)
tls_debian=$(free_port)
"$DQL_ROOT/scripts/tls.sh" start --dir "$tls_dir" --service "main:$tls_main:$port" \
    --service "client:$tls_client:$port:server:client" --service "expired:$tls_expired:$port:expired" \
    --service "other:$tls_other:$port:other-server"
"$DQL_ROOT/scripts/tls.sh" debian-redis --dir "$tls_dir" --port "$tls_debian"
export DQL_TEST_TLS_DIR="$tls_dir"
export DQL_TEST_TLS_URL="rediss://127.0.0.1:$tls_main"
export DQL_TEST_TLS_CLIENT_CERT_URL="rediss://127.0.0.1:$tls_client"
export DQL_TEST_TLS_EXPIRED_URL="rediss://127.0.0.1:$tls_expired"
export DQL_TEST_TLS_OTHER_CA_URL="rediss://127.0.0.1:$tls_other"
export DQL_TEST_DEBIAN_TLS_URL="rediss://127.0.0.1:$tls_debian"

note "recording what pydicom reads from the DICOM corpus"
"$DQL_PYTHON" "$DQL_ROOT/scripts/dicom_oracle.py" >"$data_dir/dicom-oracle.json"
export DQL_DICOM_ORACLE="$data_dir/dicom-oracle.json"

export DQL_TEST_REDIS_URL="redis://127.0.0.1:$port"
export DQL_TEST_CLUSTER_URL="redis://127.0.0.1:$cluster_base"
export DQL_TEST_VENV="$DQL_VENV"
export DQL_BINARY="$(swift build --show-bin-path)/dql"

# The installer, as a user runs it from this checkout (on CI a fresh clone), into a temporary
# prefix; the debug build just made keeps it quick. InstallTests check what it installed.
"$DQL_ROOT/scripts/install.sh" --prefix "$data_dir/prefix" --configuration debug
export DQL_TEST_INSTALL_PREFIX="$data_dir/prefix"

note "testing against $DQL_TEST_REDIS_URL"
swift test --skip-build "$@"
