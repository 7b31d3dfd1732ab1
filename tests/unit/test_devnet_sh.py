"""devnet.sh's install, sourced (it then only defines its functions) and run against stand-in
dpkg-query / apt-get / apt-cache in a scratch directory: libvirt's `default` network is
switched off only when devnet's own install brought libvirt to the machine, and while apt
runs the policy file tells the packages' scripts not to start libvirtd or virtlogd.

The stand-in apt-get plays the package scripts: it asks the policy file as deb-systemd-invoke
does (`policy-rc.d <unit> start`, 101 = do not start), marks the packages installed, and,
like Ubuntu's libvirt-daemon-config-network, links the default network into autostart."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DPKG_QUERY = r"""#!/bin/sh
# dpkg-query -W -f=FORMAT PKG: the state word from $STATE/PKG (absent: unknown package)
for a; do pkg="$a"; done
[ -f "$STATE/$pkg" ] || { echo "dpkg-query: no packages found matching $pkg" >&2; exit 1; }
st="$(cat "$STATE/$pkg")"
case "$2" in
    *db:Status-Status*) printf '%s' "$st" ;;
    *) case "$st" in installed) printf 'install ok installed' ;;
                     *) printf 'deinstall ok %s' "$st" ;; esac ;;
esac
"""
APT_GET = r"""#!/bin/sh
[ "$1" = update ] && exit 0
for unit in libvirtd.service virtlogd.service; do
    "$T_POLICY" "$unit" start; echo "$unit $?" >> "$STATE/policy-asked"
done
for a; do case "$a" in -*|install) ;; *) echo installed > "$STATE/$a" ;; esac; done
mkdir -p "$(dirname "$T_AUTOSTART")"
ln -sf ../default.xml "$T_AUTOSTART"
"""


@pytest.fixture
def world(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "state").mkdir()
    for name, body in (("dpkg-query", DPKG_QUERY), ("apt-get", APT_GET),
                       ("apt-cache", "#!/bin/sh\necho 'Candidate: 1.0'\n")):
        (tmp_path / "bin" / name).write_text(body)
        os.chmod(tmp_path / "bin" / name, 0o755)
    return tmp_path


def install(world, *packages):
    # devnet.sh sets POLICY and LIBVIRT_AUTOSTART to the machine's paths when sourced: the
    # scratch paths come under other names and replace them after.
    env = dict(os.environ, PATH=f"{world / 'bin'}:{os.environ['PATH']}",
               STATE=str(world / "state"), T_POLICY=str(world / "policy-rc.d"),
               T_AUTOSTART=str(autostart(world)))
    script = (f'source {ROOT / "devnet.sh"}; POLICY="$T_POLICY"; '
              'LIBVIRT_AUTOSTART="$T_AUTOSTART"; missing=("$@"); apt_install')
    return subprocess.run(["bash", "-c", script, "devnet-sh", *packages], env=env,
                          capture_output=True, text=True, timeout=30, check=True)


def autostart(world) -> Path:
    return world / "etc/networks/autostart/default.xml"


def test_a_fresh_install_leaves_the_default_network_off(world):
    out = install(world, "docker.io", "libvirt-daemon-system")
    assert not autostart(world).is_symlink()
    assert "default network will not autostart" in out.stdout
    # the package scripts were told not to start the daemons, and the policy is gone again
    asked = (world / "state/policy-asked").read_text().split("\n")
    assert asked[:2] == ["libvirtd.service 101", "virtlogd.service 101"]
    assert not (world / "policy-rc.d").exists()


@pytest.mark.parametrize("before", ["config-files", "installed-network-only", "own-link"])
def test_a_libvirt_of_the_users_own_keeps_its_default_network(world, before):
    state = world / "state"
    if before == "config-files":  # removed, not purged: a reinstall brings its config back
        (state / "libvirt-daemon-system").write_text("config-files")
    elif before == "installed-network-only":
        (state / "libvirt-daemon-config-network").write_text("installed")
    else:
        autostart(world).parent.mkdir(parents=True)
        autostart(world).symlink_to("../default.xml")
    out = install(world, "libvirt-daemon-system")
    assert autostart(world).is_symlink()
    assert "autostart" not in out.stdout


def test_without_libvirt_in_the_install_nothing_of_libvirt_is_touched(world):
    autostart(world).parent.mkdir(parents=True)
    install(world, "docker.io")
    # the stand-in apt-get links it: only devnet's libvirt install removes it
    assert autostart(world).is_symlink()
