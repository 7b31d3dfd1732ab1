#!/usr/bin/env bash
# devnet's entry point on a fresh Debian/Ubuntu machine: install what is missing (apt
# packages, a virtualenv with the pinned Python packages), then run `invoke` with the
# arguments given:  ./devnet.sh up   |   ./devnet.sh test   |   ./devnet.sh --list
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

if [ "$(id -u)" != 0 ]; then
    echo "devnet: needs root (network namespaces, routes, dockerd); re-running with sudo" >&2
    command -v sudo >/dev/null || { echo "devnet: run it as root" >&2; exit 1; }
    exec sudo -E "$0" "$@"
fi

APT_PACKAGES=(docker.io openssh-server openssh-client iproute2 iptables busybox-static
              docker-compose dnsutils iputils-ping netcat-openbsd util-linux hyperfine curl
              dnsmasq-base dnsperf nftables vagrant vagrant-libvirt
              qemu-system-x86 qemu-utils debootstrap)
python3 -c 'import ensurepip, venv' 2>/dev/null || APT_PACKAGES+=(python3-venv)

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

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    installed_elsewhere "$pkg" && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "devnet: installing ${missing[*]}"
    # Keep the packages' scripts from starting dockerd and sshd on this machine: devnet
    # runs its own, inside the VM. Only a policy we put there is taken away again.
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt-get update -qq
    # vagrant and vagrant-libvirt only validate the Vagrantfile (a unit test); some
    # distributions no longer ship them: go on without, and say so.
    wanted=()
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
    [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
fi

if ! cmp -s requirements.lock .venv/.devnet-installed 2>/dev/null; then
    echo "devnet: creating .venv from requirements.lock"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r requirements.lock
    cp requirements.lock .venv/.devnet-installed
fi

exec .venv/bin/invoke "$@"
