#!/usr/bin/env bash
# Fuzzes dql's parsers with libFuzzer and AddressSanitizer:
#
#   scripts/fuzz.sh [dicom|dql|multipart|pixels] [SECONDS]     (default: dicom, 300 s)
#
# DQL_FUZZ_MAX_LEN overrides the largest input (dicom 262144 bytes, dql 65536); smaller inputs
# run faster (the DICOM target does about 170 runs a second at 8192 bytes on 2 cores).
#
# dicom: DicomCore's reader, seeded with the installed DICOM corpus.
# dql:   DQL's lexer, parser and compiler, seeded with the example scripts and the statements of
#        docs/DQL.md.
# multipart: DICOMweb's multipart reader (STOW-RS bodies) and Accept parsing, seeded with a few
#        bodies.
# pixels: DicomImage's frames and pictures (native, palette, single bits, JPEG by libjpeg-turbo,
#        JPEG 2000 by OpenJPEG; damaged fragments, frame counts past the data), seeded with the
#        corpus files of up to 256 KB.
# Crashes are written to .run/fuzz/<target>/artifacts/ (git-ignored) as crash-* files; keep
# each as a regression test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$DQL_ROOT"
target="dicom"
if [[ "${1:-}" == dicom || "${1:-}" == dql || "${1:-}" == multipart || "${1:-}" == pixels ]]; then
    target="$1"
    shift
fi
seconds="${1:-300}"

"$DQL_ROOT/scripts/setup.sh"
work="$DQL_ROOT/.run/fuzz/$target"
mkdir -p "$work/corpus" "$work/artifacts"

# DicomCore's C part (the guard of mapped files), compiled with the fuzzer's instrumentation.
mapping_guard() {
    clang -fsanitize=fuzzer-no-link,address -O1 -I Sources/CMappingGuard/include \
        -c Sources/CMappingGuard/mapping_guard.c -o "$1/mapping_guard.o"
}

case "$target" in
dicom)
    if [[ -z "$(ls -A "$work/corpus")" ]]; then
        "$DQL_PYTHON" "$DQL_ROOT/scripts/dicom_oracle.py" --list | while read -r file; do
            cp "$file" "$work/corpus/$(basename "$(dirname "$file")")_$(basename "$file")"
        done
    fi
    note "building the DICOM fuzz target (libFuzzer + AddressSanitizer)"
    mapping_guard "$work"
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DicomFuzz \
        -I Sources/CZlib -I Sources/CIconv -I Sources/CMappingGuard/include \
        Sources/DicomCore/*.swift Fuzz/FuzzDicomReader.swift "$work/mapping_guard.o" -lz -o "$work/fuzz"
    max_len=262144
    ;;
pixels)
    if [[ -z "$(ls -A "$work/corpus")" ]]; then
        "$DQL_PYTHON" "$DQL_ROOT/scripts/dicom_oracle.py" --list | while read -r file; do
            # Files of up to 256 KB (the largest input).
            if [[ $(stat -c %s "$file") -le 262144 ]]; then
                cp "$file" "$work/corpus/$(basename "$(dirname "$file")")_$(basename "$file")"
            fi
        done
    fi
    note "building the pixel fuzz target (libFuzzer + AddressSanitizer)"
    # One module of DicomCore and DicomImage (their `import DicomCore` dropped), the C shims
    # compiled with the same instrumentation, and module maps for them.
    rm -rf "$work/src" "$work/modules" && mkdir -p "$work/src" "$work/modules/CJPEG" "$work/modules/CJPEG2000" \
        "$work/modules/CSixel"
    for source in Sources/DicomCore/*.swift Sources/DicomImage/*.swift; do
        sed '/^import DicomCore$/d' "$source" >"$work/src/$(basename "$(dirname "$source")")_$(basename "$source")"
    done
    printf 'module CJPEG {\n    header "%s"\n    export *\n}\n' "$DQL_ROOT/Sources/CJPEG/include/jpeg_decode.h" \
        >"$work/modules/CJPEG/module.modulemap"
    printf 'module CJPEG2000 {\n    header "%s"\n    export *\n}\n' \
        "$DQL_ROOT/Sources/CJPEG2000/include/jpeg2000_decode.h" >"$work/modules/CJPEG2000/module.modulemap"
    printf 'module CSixel {\n    header "%s"\n    export *\n}\n' "$DQL_ROOT/Sources/CSixel/include/sixel_encode.h" \
        >"$work/modules/CSixel/module.modulemap"
    mapping_guard "$work"
    clang -fsanitize=fuzzer-no-link,address -O1 -I Sources/CSixel/include -c Sources/CSixel/sixel_encode.c \
        -o "$work/sixel_encode.o"
    clang -fsanitize=fuzzer-no-link,address -O1 -I Sources/CJPEG/include -c Sources/CJPEG/jpeg_decode.c \
        -o "$work/jpeg_decode.o"
    clang -fsanitize=fuzzer-no-link,address -O1 -I Sources/CJPEG2000/include \
        -c Sources/CJPEG2000/jpeg2000_decode.c -o "$work/jpeg2000_decode.o"
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name PixelFuzz \
        -I Sources/CZlib -I Sources/CIconv -I Sources/CSystemCalls -I Sources/CMappingGuard/include \
        -I "$work/modules/CJPEG" -I "$work/modules/CJPEG2000" -I "$work/modules/CSixel" "$work"/src/*.swift \
        Fuzz/FuzzPixels.swift "$work/mapping_guard.o" "$work/jpeg_decode.o" "$work/jpeg2000_decode.o" \
        "$work/sixel_encode.o" -ljpeg -lopenjp2 -lsixel -lz -o "$work/fuzz"
    max_len=262144
    ;;
dql)
    if [[ -z "$(ls -A "$work/corpus")" ]]; then
        index=0
        for script in examples/*.dql; do cp "$script" "$work/corpus/example-$((index++))"; done
        sed -n '/^```dql$/,/^```$/p' docs/DQL.md | grep -v '^```' | while IFS= read -r line; do
            printf '%s\n' "$line" >"$work/corpus/doc-$((index++))"
        done
    fi
    note "building the DQL fuzz target (libFuzzer + AddressSanitizer)"
    # The pure part of DQL: no Redis, no DICOM, no crypto.
    sources=(Token Lexer SourceLocation DQLError DiagnosticMessage Suggestion Keyword Settings AST Parser Schema
        Compiler Plan StorageLayout)
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DQLFuzz \
        $(printf 'Sources/DQL/%s.swift ' "${sources[@]}") Fuzz/FuzzDQL.swift -o "$work/fuzz"
    max_len=65536
    ;;
multipart)
    if [[ -z "$(ls -A "$work/corpus")" ]]; then
        printf '\x05--b\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--b--\r\n' >"$work/corpus/one"
        printf '\x11pre\r\n--b\r\n\r\nA\r\n--b\r\nX: y\r\n\r\n\r\n--b--' >"$work/corpus/two"
    fi
    note "building the multipart fuzz target (libFuzzer + AddressSanitizer)"
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name MultipartFuzz \
        Sources/DICOMweb/MultipartReader.swift Sources/DICOMweb/MediaRange.swift Fuzz/FuzzMultipart.swift \
        -o "$work/fuzz"
    max_len=65536
    ;;
esac

note "fuzzing $target for $seconds s"
"$work/fuzz" -max_total_time="$seconds" -max_len="${DQL_FUZZ_MAX_LEN:-$max_len}" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" 2>&1 | tail -n 25
