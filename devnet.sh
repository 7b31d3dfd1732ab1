#!/usr/bin/env bash
# devnet's entry point on a fresh Debian/Ubuntu machine: install what is missing (apt
# packages, a virtualenv with the pinned, hash-checked Python packages), then run `invoke`
# with the arguments given:  ./devnet.sh up   |   ./devnet.sh test   |   ./devnet.sh --list
#
# Only what needs root runs as root: the install, and the tasks that change the machine.
# --list, --help, env, test.lint and test.unit run as the calling user (the one who ran
# sudo; as root without sudo, as CI runs, there is no one else to run them as).
# (Sourced, as tests/unit/test_devnet_sh.py does, it only defines its functions.)
set -euo pipefail

APT_PACKAGES=(docker.io openssh-server openssh-client iproute2 iptables busybox-static
              docker-compose dnsutils iputils-ping netcat-openbsd util-linux hyperfine curl
              dnsmasq-base dnsperf nftables vagrant vagrant-libvirt libvirt-daemon-system
              qemu-system-x86 qemu-utils debootstrap etcd-server wireguard-go wireguard-tools
              tcpdump)
python3 -c 'import ensurepip, venv' 2>/dev/null || APT_PACKAGES+=(python3-venv)
POLICY=/usr/sbin/policy-rc.d
# The system libvirtd's link that starts the `default` network (a virbr0 bridge, dnsmasq and
# NAT rules on this machine) whenever that libvirtd starts (Ubuntu's package makes it).
LIBVIRT_AUTOSTART=/etc/libvirt/qemu/networks/autostart/default.xml

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

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

# Whether this machine had libvirt's system daemon or its default network before devnet's
# install: either package installed, or removed with its configuration kept (dpkg's
# config-files state: a reinstall brings the user's old default network back), or an
# autostart link of the user's own. Then the machine's libvirt is the user's, never touched.
libvirt_was_here() {
    local pkg state
    for pkg in libvirt-daemon-system libvirt-daemon-config-network; do
        state="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
        case "$state" in ""|not-installed) ;; *) return 0 ;; esac
    done
    [ -e "$LIBVIRT_AUTOSTART" ] || [ -L "$LIBVIRT_AUTOSTART" ]
}

find_missing() {
    missing=()
    local pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        installed_elsewhere "$pkg" && continue
        pkg_installed "$pkg" || missing+=("$pkg")
    done
}
venv_current() { cmp -s requirements.lock .venv/.devnet-installed 2>/dev/null; }

# Whether the policy file answers 101 (do not start) for this service's start.
policy_denies() {
    local rc=0
    "$POLICY" "$1" start >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 101 ]
}

apt_install() {
    echo "devnet: installing ${missing[*]}"
    # Keep the packages' scripts from starting dockerd, sshd, libvirtd and virtlogd on this
    # machine (invoke-rc.d and deb-systemd-invoke ask this file; 101: do not start): devnet
    # runs its own, inside the VM or the lab's namespaces. Only a policy we put there is taken
    # away again, and always (apt failed, Ctrl-C): a policy left behind would stop every later
    # service start. A policy of the machine's own is its owner's word: kept, and read.
    if [ ! -e "$POLICY" ]; then
        trap 'rm -f "$POLICY"' EXIT
        trap 'exit 130' INT TERM HUP
        printf '#!/bin/sh\nexit 101\n' > "$POLICY"
        chmod +x "$POLICY"
    elif ! policy_denies libvirtd.service; then
        echo "devnet: $POLICY (not devnet's) lets packages start services: the ones" \
             "installed now may start" >&2
    fi
    apt-get update -qq
    # vagrant and vagrant-libvirt only validate the Vagrantfile (a unit test); some
    # distributions no longer ship them: go on without, and say so.
    local wanted=() pkg policy libvirt_ours=no
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
    # libvirt-daemon-system is for test.vagrant's lab, which runs its own libvirtd in its own
    # namespaces. Decided BEFORE apt runs: the default network is devnet's to switch off only
    # when this install is what brings libvirt to the machine.
    if [[ " ${wanted[*]} " == *" libvirt-daemon-system "* ]] && ! libvirt_was_here; then
        libvirt_ours=yes
    fi
    [ ${#wanted[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
    # Ubuntu's package autostarts its `default` network with the system's libvirtd (at the
    # next boot: a virbr0 bridge and NAT rules here); Debian's defines it inactive.
    if [ "$libvirt_ours" = yes ] && { [ -e "$LIBVIRT_AUTOSTART" ] || [ -L "$LIBVIRT_AUTOSTART" ]; }; then
        rm -f "$LIBVIRT_AUTOSTART"
        echo "devnet: libvirt's default network will not autostart (libvirt is new here," \
             "installed for test.vagrant's lab)"
    fi
}

venv_install() {
    echo "devnet: creating .venv from requirements.lock (every file hash-checked)"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
    cp requirements.lock .venv/.devnet-installed
}

main() {
    cd "$(dirname "$(readlink -f "$0")")"
    find_missing
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
}

[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
