#!/usr/bin/env bash
# The main job: installs what is missing, starts the local Redis (port $DQL_REDIS_PORT,
# default 6379, data kept in .run/), builds dql and checks it against the server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$DQL_ROOT"

"$DQL_ROOT/scripts/setup.sh"
port="${DQL_REDIS_PORT:-6379}"
"$DQL_ROOT/scripts/redis.sh" start --port "$port" --persist

note "building dql (release)"
swift build -c release --product dql
dql="$(swift build -c release --show-bin-path)/dql"
url="redis://127.0.0.1:$port"

"$dql" --version
"$dql" ping --url "$url"

cat <<TXT

dql is built at $dql and a Redis with RediSearch and RedisJSON runs at $url.
  $dql ping --url $url
  scripts/redis.sh stop --port $port     # stop the server (data stays in .run/redis-$port)
TXT
