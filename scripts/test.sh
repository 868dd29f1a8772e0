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
cleanup() {
    "$DQL_ROOT/scripts/redis.sh" stop --port "$port" --dir "$data_dir" >/dev/null 2>&1 || true
    "$DQL_ROOT/scripts/cluster.sh" stop --base-port "$cluster_base" >/dev/null 2>&1 || true
    rm -rf "$data_dir"
}
trap cleanup EXIT
"$DQL_ROOT/scripts/redis.sh" start --port "$port" --dir "$data_dir" --debug-command
"$DQL_ROOT/scripts/cluster.sh" start --base-port "$cluster_base"

note "recording what pydicom reads from the DICOM corpus"
"$DQL_PYTHON" "$DQL_ROOT/scripts/dicom_oracle.py" >"$data_dir/dicom-oracle.json"
export DQL_DICOM_ORACLE="$data_dir/dicom-oracle.json"

export DQL_TEST_REDIS_URL="redis://127.0.0.1:$port"
export DQL_TEST_CLUSTER_URL="redis://127.0.0.1:$cluster_base"
export DQL_TEST_VENV="$DQL_VENV"
export DQL_BINARY="$(swift build --show-bin-path)/dql"

note "testing against $DQL_TEST_REDIS_URL"
swift test --skip-build "$@"
