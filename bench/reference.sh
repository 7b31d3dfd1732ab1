#!/usr/bin/env bash
# The reference: the walk-through's steps as bare commands on the same simulated topology,
# with no checks, no journal and no SSH (what a hand-written script does): dockerd started
# with --bip/--dns at once (no restart), dnsmasq on the bridge IP as the DNS (it knows no
# containers), the host's resolv.conf rewritten. Usage:
#   bench/reference.sh up | down
set -euo pipefail
R=/var/lib/devnet-ref; H=ref-host; V=ref-vm
case "$1" in
up)
    mkdir -p $R/run $R/etc-docker $R/data
    ip netns add $H; ip netns add $V
    ip -n $H link set lo up; ip -n $V link set lo up
    ip link add ref-ho0 netns $H type veth peer name eth1 netns $V
    ip -n $H addr add 172.16.0.1/16 dev ref-ho0; ip -n $H link set ref-ho0 up
    setsid nsenter --net=/run/netns/$V unshare --mount --propagation private -- sh -c \
        "mount --bind $R/run /run && mount --bind $R/etc-docker /etc/docker && exec sleep infinity" \
        </dev/null >/dev/null 2>&1 &
    echo $! > $R/power.pid
    until [ "$(stat -c %i /proc/"$(cat $R/power.pid)"/root/run 2>/dev/null)" = "$(stat -c %i $R/run)" ]
    do sleep 0.02; done
    setsid nsenter -t "$(cat $R/power.pid)" -m -n -- dockerd --data-root $R/data \
        --cgroup-parent /devnet-ref --bip=172.17.42.1/16 --dns=172.17.42.1 \
        >$R/dockerd.log 2>&1 </dev/null &
    until curl -s --unix-socket $R/run/docker.sock http://d/_ping >/dev/null 2>&1; do sleep 0.05; done
    ip -n $V addr add 172.16.0.11/16 dev eth1; ip -n $V link set eth1 up
    ip netns exec $V iptables -w -I DOCKER-USER -s 172.16.0.0/16 -d 172.17.0.0/16 -j ACCEPT
    ip -n $H route add 172.17.0.0/16 via 172.16.0.11
    setsid nsenter --net=/run/netns/$V dnsmasq --keep-in-foreground --conf-file=/dev/null \
        --no-resolv --no-hosts --listen-address=172.17.42.1 --bind-interfaces --user=root \
        --pid-file= </dev/null >/dev/null 2>&1 &
    echo $! > $R/dnsmasq.pid
    mkdir -p /etc/netns/$H
    printf 'nameserver 172.17.42.1\n' > /etc/netns/$H/resolv.conf
    until ip netns exec $H dig +short +time=1 +tries=1 @172.17.42.1 localhost >/dev/null 2>&1
    do sleep 0.05; done
    ;;
down)
    ip -n $H route del 172.17.0.0/16 via 172.16.0.11 || true
    kill "$(cat $R/dnsmasq.pid 2>/dev/null)" 2>/dev/null || true
    rm -rf /etc/netns/$H; rmdir /etc/netns 2>/dev/null || true
    pid=$(cat $R/run/docker.pid 2>/dev/null || true)
    if [ -n "$pid" ]; then kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done; fi
    kill "$(cat $R/power.pid)" 2>/dev/null || true
    for d in /sys/fs/cgroup/*/devnet-ref; do rmdir "$d" 2>/dev/null || true; done
    ip netns del $V 2>/dev/null || true; ip netns del $H 2>/dev/null || true
    rm -rf $R
    ;;
esac
