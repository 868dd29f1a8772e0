#!/usr/bin/env bash
# Installs what dql needs on Debian 12 with Swift: the C libraries from apt and a Python
# virtual environment (./.venv, git-ignored) with the pinned Redis build and DICOM corpus.
# Safe to run again: it only installs what is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

APT_PACKAGES=(libhiredis-dev libedit-dev zlib1g-dev libssl-dev libopenjp2-7-dev libjpeg62-turbo-dev libsixel-dev libgdcm-dev libxxhash-dev openssl redis-tools stunnel4 help2man curl
    orthanc orthanc-dicomweb)

missing=()
for package in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing+=(python3-venv)
fi
if ((${#missing[@]})); then
    note "installing Debian packages: ${missing[*]}"
    sudo=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install ${missing[*]}"
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

requirements="$DQL_ROOT/scripts/requirements.txt"
stamp="$DQL_VENV/.dql-requirements"
if [[ ! -x "$DQL_PYTHON" ]]; then
    note "creating Python environment in ${DQL_VENV#"$DQL_ROOT"/}"
    python3 -m venv "$DQL_VENV"
fi
if ! cmp -s "$requirements" "$stamp"; then
    note "installing pinned Python packages (Redis 8.2.3, RediSearch, RedisJSON, pydicom)"
    "$DQL_PYTHON" -m pip install --disable-pip-version-check -q -r "$requirements"
    cp "$requirements" "$stamp"
fi
