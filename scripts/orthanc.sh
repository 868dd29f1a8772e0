#!/usr/bin/env bash
# Starts and stops a private Orthanc (Debian's orthanc 1.10 with its DICOMweb plugin), the peer
# `dql serve` is compared with in tests and benchmarks. HTTP on 127.0.0.1 only, no DICOM port,
# no authentication, its storage and index under --dir (a config directory of its own:
# `Orthanc DIR/config`). scripts/setup.sh installs the packages.
#
#   scripts/orthanc.sh start --port N --dir DIR     prints the DICOMweb root URL when it answers
#   scripts/orthanc.sh stop  --dir DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

action="${1:-}"
[[ -n "$action" ]] && shift
port=""
dir=""
while (($#)); do
    case "$1" in
        --port) port="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        *) die "unknown option '$1' (see the comment at the top of $0)" ;;
    esac
done
[[ -n "$dir" ]] || die "--dir is required"
pidfile="$dir/orthanc.pid"
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so

case "$action" in
    start)
        [[ "$port" =~ ^[0-9]+$ ]] || die "--port must be a number, not '$port'"
        command -v Orthanc >/dev/null || die "Orthanc is not installed (scripts/setup.sh installs orthanc and orthanc-dicomweb)"
        [[ -f "$plugin" ]] || die "the DICOMweb plugin ($plugin) is not installed (orthanc-dicomweb)"
        mkdir -p "$dir/config" "$dir/storage"
        cat >"$dir/config/orthanc.json" <<JSON
{
  "Name": "dql-peer",
  "StorageDirectory": "$dir/storage",
  "IndexDirectory": "$dir/storage",
  "HttpPort": $port,
  "HttpServerEnabled": true,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "DicomServerEnabled": false,
  "OrthancExplorerEnabled": false,
  "WebDavEnabled": false,
  "HttpCompressionEnabled": false,
  "StorageCompression": false,
  "ConcurrentJobs": 2,
  "HttpThreadsCount": 50,
  "Plugins": ["$plugin"],
  "DicomWeb": {"Enable": true, "Root": "/dicom-web/", "EnableWado": false, "StudiesMetadata": "Full", "SeriesMetadata": "Full"}
}
JSON
        if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            note "Orthanc already runs (pid $(cat "$pidfile"))"
        else
            # Every descriptor but the log is closed first: a pipe the caller reads to its end
            # (a test capturing this script's output) must not stay open in the server.
            (
                for fd in /proc/$BASHPID/fd/*; do
                    fd=${fd##*/}
                    ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null || true
                done
                exec Orthanc "$dir/config" </dev/null >"$dir/orthanc.log" 2>&1
            ) &
            echo $! >"$pidfile"
        fi
        for _ in $(seq 1 200); do
            if curl -sf "http://127.0.0.1:$port/system" >/dev/null 2>&1; then
                echo "http://127.0.0.1:$port/dicom-web"
                exit 0
            fi
            kill -0 "$(cat "$pidfile")" 2>/dev/null || die "Orthanc stopped; its log: $(tail -5 "$dir/orthanc.log")"
            sleep 0.1
        done
        die "Orthanc did not answer on port $port; its log: $(tail -5 "$dir/orthanc.log")"
        ;;
    stop)
        if [[ -f "$pidfile" ]]; then
            pid=$(cat "$pidfile")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$pidfile"
        fi
        ;;
    *) die "usage: $0 start --port N --dir DIR | stop --dir DIR" ;;
esac
