#!/usr/bin/env bash
# The main job, on a fresh machine: installs what is missing, builds and installs dql
# (scripts/install.sh, into ~/.local unless DQL_INSTALL_PREFIX says otherwise), starts the local Redis
# (port $DQL_REDIS_PORT, default 6379; data and AOF in dql's per-user data directory), loads the
# sample corpus (the DICOM files of the pydicom and pydicom-data packages), runs the demo's
# three scenarios (examples/scenarios.dql) with timing on, and says how to open the shell.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$DQL_ROOT"

"$DQL_ROOT/scripts/setup.sh"
note "building dql (release)"
swift build -c release --product dql
swift build -c release --product dql-decode
# Installed as a user would have it (scripts/install.sh; PREFIX/bin, default ~/.local/bin), so
# what follows, and what this prints at the end, is plain `dql`.
prefix="${DQL_INSTALL_PREFIX:-$HOME/.local}"
"$DQL_ROOT/scripts/install.sh" --prefix "$prefix" --binary "$(swift build -c release --show-bin-path)/dql"
path_note=""
case ":$PATH:" in
*":$prefix/bin:"*) ;;
*) path_note="(dql is in $prefix/bin, not yet on your PATH: export PATH=\"$prefix/bin:\$PATH\")" ;;
esac
export PATH="$prefix/bin:$PATH"
dql=dql
port="${DQL_REDIS_PORT:-6379}"
url="redis://127.0.0.1:$port"
export DQL_VENV

"$dql" --version
"$dql" server start --port "$port"
"$dql" ping --url "$url"

note "loading the sample corpus"
loads=()
while IFS= read -r root; do
    loads+=(-c "load '$root' recursive")
done < <("$DQL_PYTHON" "$DQL_ROOT/scripts/dicom_oracle.py" --roots)
# Files that are not DICOM (READMEs, JSON, a gzip) are reported and skipped, and a load with
# failed files exits 1; anything worse stops the demo.
status=0
"$dql" --url "$url" --no-pager --timing --continue-on-error "${loads[@]}" -c stats || status=$?
[[ $status -le 1 ]] || die "loading the corpus failed (exit $status)"

note "the demo's three scenarios (examples/scenarios.dql), fetching into .run/demo/out"
rm -rf "$DQL_ROOT/.run/demo/out"
mkdir -p "$DQL_ROOT/.run/demo"
(cd "$DQL_ROOT/.run/demo" && "$dql" --url "$url" --no-pager --timing -f "$DQL_ROOT/examples/scenarios.dql")

cat <<TXT

The corpus is loaded into the Redis at $url; the scenarios' files are in .run/demo/out.
Open the shell on that data:

  $dql --url $url
$path_note

then try:  count by modality, year      find where patient contains 'doe'      \\help      \\q
Other examples: examples/*.dql  (run one with: $dql --url $url -f examples/find-patient.dql)
Stop the server with: $dql server stop --port $port   (its data stays for the next start)
TXT
