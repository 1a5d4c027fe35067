#!/usr/bin/env bash
# The two quick-start commands:
#   ./run.sh demo   set up, then run the headline comparison (us-east-1 DNS outage, every strategy)
#   ./run.sh test   set up, then run the whole test suite
# Needs only Python >= 3.11. As root on Debian/Ubuntu it installs what is missing with apt-get
# (python3-venv; for the tests also prometheus and dig, which some tests drive for real).
set -euo pipefail
cd "$(dirname "$0")"
VENV="${HARNESS_VENV:-.venv}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing $* (apt-get)"
        if [ ! -f /tmp/.harness-apt-updated ]; then
            apt-get update -qq >/dev/null && touch /tmp/.harness-apt-updated
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    else
        say "missing $* and not root with apt-get: install it yourself"
        return 1
    fi
}

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    say "Python >= 3.11 is required"
    exit 1
}

setup() {
    local python
    python="$(find_python)"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtualenv $VENV"
        if ! "$python" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            apt_install python3-venv "$(basename "$python")-venv" 2>/dev/null || apt_install python3-venv
            "$python" -m venv "$VENV"
        fi
    fi
    # Reinstall only when the project's dependencies changed.
    local stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
    if [ ! -f "$stamp" ]; then
        say "installing the harness and its dependencies into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
        "$VENV/bin/python" -m pip install -q -e '.[dev]'
        rm -f "$VENV"/.installed-* && touch "$stamp"
    fi
}

case "${1:-}" in
demo)
    setup
    shift
    # Re-running the demo replaces runs/headline; the previous results are kept, renamed with
    # the time they were written.
    if [ -e runs/headline ]; then
        previous="runs/headline-$(date -r runs/headline +%Y%m%d-%H%M%S)"
        [ -e "$previous" ] && previous="$previous-$$"
        mv runs/headline "$previous"
        say "the previous demo results are now in $previous"
    fi
    exec "$VENV/bin/harness" compare scenarios/us-east-1-dns-outage.yaml --out runs/headline "$@"
    ;;
test)
    setup
    command -v prometheus >/dev/null || apt_install prometheus || true
    command -v dig >/dev/null || apt_install bind9-dnsutils || apt_install dnsutils || true
    shift
    exec "$VENV/bin/python" -m pytest -q "$@"
    ;;
setup)
    setup
    ;;
*)
    echo "usage: ./run.sh demo | test | setup" >&2
    exit 2
    ;;
esac
