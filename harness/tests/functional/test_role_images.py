# SPDX-License-Identifier: MIT
# test_role_images.py: the router and tor-gateway images run Debian's nft and tor in a booted guest.
"""Boots each role image through uvmlab and drives it with `uvmlab exec`: the
binaries come with their shared libraries from pinned Debian packages (see
guests/README.md), and the kernel modules nftables needs load at boot."""

import pytest

from framework.lab import BUILD, uvmlab

IMAGES = BUILD / "guests"
EXEC_TIMEOUT = "120"  # TCG on a shared host: generous, but bounded

SCENARIO = """\
name: role-{role}
description: one {role} image, booted alone to drive its tools
networks:
  lan: {{ subnet: 198.18.60.0/24 }}
vms:
  gw: {{ role: {role}, nics: [lan] }}
"""

# What the gateway will need: NAT out of the uplink, redirect into tor's
# TransPort, conntrack state, rejects, and per-user output rules. A counter on
# locally sent ICMP proves the hooks see packets, not only that rules parse.
RULESET = """\
table inet lab {
    chain pre {
        type nat hook prerouting priority dstnat; policy accept;
        iifname "eth0" tcp dport 80 redirect to :9040
    }
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "eth0" masquerade
    }
    chain in {
        type filter hook input priority filter; policy accept;
        ct state established,related accept
        iifname "eth0" tcp dport 23 reject with tcp reset
    }
    chain out {
        type filter hook output priority filter; policy accept;
        meta skuid 101 accept
        ip protocol icmp counter
    }
}
table ip6 lab6 {
    chain in {
        type filter hook input priority filter; policy accept;
        icmpv6 type echo-request counter
    }
}
"""


def up(lab_results, tmp_path, role):
    scn = tmp_path / ("role-%s.yaml" % role)
    scn.write_text(SCENARIO.format(role=role))
    r = uvmlab("up", scn, "--images", IMAGES, results=lab_results)
    assert r.code == 0, str(r)
    return r.out.strip().splitlines()[-1]


def gx(run_id, *cmd, code=0):
    r = uvmlab("exec", "--run", run_id, "--timeout", EXEC_TIMEOUT, "gw", "--", *cmd)
    if code is not None:
        assert r.code == code, str(r)
    return r


def need_images(*names):
    missing = [n for n in names if not (IMAGES / n).exists()]
    if missing:
        pytest.skip("guest images missing in %s (%s): run `make guests`" % (IMAGES, ", ".join(missing)))


@pytest.mark.boots
def test_router_runs_nft(lab_results, tmp_path):
    need_images("vmlinuz", "router.cpio")
    rid = up(lab_results, tmp_path, "router")
    assert gx(rid, "nft", "--version").out.startswith("nftables v")
    # Rules go in as a file, as the gateway's will.
    gx(rid, "sh", "-c", "cat > /tmp/lab.nft <<'EOF'\n%sEOF\nnft -f /tmp/lab.nft" % RULESET)
    gx(rid, "ping", "-c", "2", "-W", "5", "198.18.60.1")
    listed = gx(rid, "nft", "list", "ruleset").out
    for want in ('iifname "eth0" tcp dport 80 redirect to :9040', 'oifname "eth0" masquerade',
                 "ct state established,related accept", "reject with tcp reset",
                 "meta skuid 101 accept", "table ip6 lab6"):
        assert want in listed, listed
    # Two echo requests and two replies left through the output hook.
    counted = [l for l in listed.splitlines() if "ip protocol icmp counter" in l]
    assert counted and "packets 4 " in counted[0], listed
    # A bad rule must fail, and leave the ruleset as it was.
    bad = gx(rid, "nft", "add", "rule", "inet", "lab", "in", "tcp", "dport", "no-such-port",
             code=None)
    assert bad.code != 0 and "no-such-port" in bad.err + bad.out, str(bad)
    assert gx(rid, "nft", "list", "ruleset").out.count("\n") == listed.count("\n")
    gx(rid, "nft", "flush", "ruleset")
    assert gx(rid, "nft", "list", "ruleset").out.strip() == ""
    uvmlab("down", rid, check_code=0)


@pytest.mark.boots
def test_tor_gateway_runs_tor(lab_results, tmp_path):
    need_images("vmlinuz", "tor-gateway.cpio")
    rid = up(lab_results, tmp_path, "tor-gateway")
    assert gx(rid, "cat", "/etc/uvmlab/role").out == "tor-gateway\n"
    version = gx(rid, "tor", "--version").out
    assert version.startswith("Tor version 0.4."), version
    assert gx(rid, "id", "debian-tor").out.startswith("uid=101(debian-tor) gid=101(debian-tor)")
    # tor resolves its User through glibc and checks its DataDirectory's owner.
    torrc = ("User debian-tor\nDataDirectory /var/lib/tor\nSocksPort 9050\n"
             "TransPort 9040\nDNSPort 5353\nLog notice stdout\n")
    gx(rid, "sh", "-c", "printf '%s' > /etc/tor/torrc" % torrc)
    v = gx(rid, "tor", "-f", "/etc/tor/torrc", "--verify-config")
    assert "Configuration was valid" in v.out, str(v)
    gx(rid, "nft", "add", "table", "inet", "t")
    gx(rid, "nft", "add", "chain", "inet", "t", "out",
       "{ type filter hook output priority 0; policy accept; }")
    gx(rid, "nft", "add", "rule", "inet", "t", "out", "meta", "skuid", "debian-tor", "accept")
    assert "meta skuid 101 accept" in gx(rid, "nft", "list", "ruleset").out
    uvmlab("down", rid, check_code=0)
