#!/usr/bin/env bash
# devnet's entry point on a fresh Debian/Ubuntu machine: install what is missing (apt
# packages, a virtualenv with the pinned, hash-checked Python packages), then run `invoke`
# with the arguments given:  ./devnet.sh up   |   ./devnet.sh test   |   ./devnet.sh --list
#
# Only what needs root runs as root: the install, and the tasks that change the machine.
# --list, --help, env, test.lint and test.unit run as the calling user (the one who ran
# sudo; as root without sudo, as CI runs, there is no one else to run them as).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

APT_PACKAGES=(docker.io openssh-server openssh-client iproute2 iptables busybox-static
              docker-compose dnsutils iputils-ping netcat-openbsd util-linux hyperfine curl
              dnsmasq-base dnsperf nftables vagrant vagrant-libvirt
              qemu-system-x86 qemu-utils debootstrap etcd-server wireguard-go wireguard-tools)
python3 -c 'import ensurepip, venv' 2>/dev/null || APT_PACKAGES+=(python3-venv)
POLICY=/usr/sbin/policy-rc.d

# A machine with Docker's own packages (docker-ce, as on GitHub's runners) keeps them:
# docker.io would conflict with its containerd.io.
installed_elsewhere() {
    case "$1" in
        docker.io) command -v dockerd >/dev/null ;;
        docker-compose) command -v docker-compose >/dev/null ;;
        vagrant) command -v vagrant >/dev/null ;;
        *) return 1 ;;
    esac
}

# Whether the arguments name only what needs no root (flags, and these tasks).
needs_root() {
    [ $# -gt 0 ] || return 0
    local arg
    for arg in "$@"; do
        case "$arg" in
            -l|--list|-h|--help|-V|--version|env|test.lint|test.unit) ;;
            -*) ;;  # a flag of invoke's or of one of those tasks
            *) return 0 ;;
        esac
    done
    return 1
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    installed_elsewhere "$pkg" && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
venv_current() { cmp -s requirements.lock .venv/.devnet-installed 2>/dev/null; }

apt_install() {
    echo "devnet: installing ${missing[*]}"
    # Keep the packages' scripts from starting dockerd and sshd on this machine: devnet
    # runs its own, inside the VM. Only a policy we put there is taken away again, and
    # always (apt failed, Ctrl-C): a policy left behind would stop every later service start.
    if [ ! -e "$POLICY" ]; then
        trap 'rm -f "$POLICY"' EXIT
        trap 'exit 130' INT TERM HUP
        printf '#!/bin/sh\nexit 101\n' > "$POLICY"
        chmod +x "$POLICY"
    fi
    apt-get update -qq
    # vagrant and vagrant-libvirt only validate the Vagrantfile (a unit test); some
    # distributions no longer ship them: go on without, and say so.
    local wanted=() pkg policy
    for pkg in "${missing[@]}"; do
        case "$pkg" in
            vagrant|vagrant-libvirt)
                # (read whole first: with pipefail, grep -q's early exit fails the pipe)
                policy="$(apt-cache policy "$pkg" 2>/dev/null)"
                if ! grep -q "Candidate: [0-9]" <<<"$policy"; then
                    echo "devnet: $pkg is not in this machine's apt sources; the Vagrantfile's" \
                         "validation needs it (install vagrant from HashiCorp)" >&2
                    continue
                fi ;;
        esac
        wanted+=("$pkg")
    done
    [ ${#wanted[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
}

venv_install() {
    echo "devnet: creating .venv from requirements.lock (every file hash-checked)"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
    cp requirements.lock .venv/.devnet-installed
}

if [ ${#missing[@]} -gt 0 ] || ! venv_current; then
    if [ "$(id -u)" != 0 ]; then
        echo "devnet: installing needs root; running the install with sudo" >&2
        command -v sudo >/dev/null || { echo "devnet: run it as root" >&2; exit 1; }
        sudo "$0" --devnet-install-only
    else
        [ ${#missing[@]} -eq 0 ] || apt_install
        venv_current || venv_install
    fi
fi
[ "${1:-}" != --devnet-install-only ] || exit 0

if needs_root "$@"; then
    if [ "$(id -u)" != 0 ]; then
        echo "devnet: needs root (network namespaces, routes, dockerd); re-running with sudo" >&2
        command -v sudo >/dev/null || { echo "devnet: run it as root" >&2; exit 1; }
        exec sudo -E "$0" "$@"
    fi
elif [ "$(id -u)" = 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    if runuser -u "$SUDO_USER" -- .venv/bin/python -c '' 2>/dev/null; then
        echo "devnet: running as $SUDO_USER (this needs no root)" >&2
        home="$(getent passwd "$SUDO_USER" | cut -d: -f6)"
        exec runuser -u "$SUDO_USER" -- env HOME="$home" USER="$SUDO_USER" \
            LOGNAME="$SUDO_USER" .venv/bin/invoke "$@"
    fi
    echo "devnet: $SUDO_USER cannot run .venv/bin/python (a Python under /root?); as root" >&2
fi
exec .venv/bin/invoke "$@"
