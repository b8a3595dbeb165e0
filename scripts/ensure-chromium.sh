#!/usr/bin/env bash
# Chromium for the docs page's e2e test (tests/e2e/test_docs_page.py): Debian's `chromium`
# package, installed only when /usr/bin/chromium is missing. Needs apt-get, and root or sudo.
# `make chromium` runs it; so does .ci/run, where the e2e test must not be skipped.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM is missing and there is no apt-get to install it" >&2
    exit 1
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "ensure-chromium: installing chromium needs root or sudo" >&2
        exit 1
    fi
    as_root=(sudo)
fi

# apt's progress and debconf's notices are only worth reading when something failed.
log=$(mktemp)
trap 'rm -f "$log"' EXIT

apt() {
    # `env` on the command line: sudo does not pass the caller's environment on.
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$log" 2>&1; then
        echo "ensure-chromium: apt-get $* failed:" >&2
        cat "$log" >&2
        exit 1
    fi
}

echo "ensure-chromium: installing Debian's chromium package"
# A fresh machine (or container image) may have no package lists at all.
apt update -qq
apt install -y -qq --no-install-recommends chromium

if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: the chromium package did not provide $CHROMIUM" >&2
    exit 1
fi
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null)"
