#!/usr/bin/env bash
# Fuzzes DicomCore's reader with libFuzzer and AddressSanitizer, seeded with the installed DICOM
# corpus. Crashes are written to .run/fuzz/ (git-ignored) as crash-* files.
#
#   scripts/fuzz.sh [SECONDS]     (default 300)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$DQL_ROOT"
seconds="${1:-300}"

"$DQL_ROOT/scripts/setup.sh"
work="$DQL_ROOT/.run/fuzz"
mkdir -p "$work/corpus" "$work/artifacts"
if [[ -z "$(ls -A "$work/corpus")" ]]; then
    "$DQL_PYTHON" "$DQL_ROOT/scripts/dicom_oracle.py" --list | while read -r file; do
        cp "$file" "$work/corpus/$(basename "$(dirname "$file")")_$(basename "$file")"
    done
fi

note "building the fuzz target (libFuzzer + AddressSanitizer)"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DicomFuzz \
    -I Sources/CZlib -I Sources/CIconv \
    Sources/DicomCore/*.swift Fuzz/FuzzDicomReader.swift -lz -o "$work/fuzz-dicom"

note "fuzzing for $seconds s"
"$work/fuzz-dicom" -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" 2>&1 | tail -n 25
