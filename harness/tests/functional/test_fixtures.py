"""Host-side fixtures of the Whonix lab: the fake internet and the private Tor network.

Each test gets a fresh network namespace (held by an `unshare --net sleep` process),
runs the fixtures inside it through nsenter and tears everything down: no process,
no namespace left. Nothing here boots a VM.
"""
import importlib.util
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from framework import lab

REPO = lab.REPO
FAKE_INTERNET = REPO / "fixtures" / "internet" / "fake_internet.py"
PRIVATE_TOR = REPO / "fixtures" / "tor" / "private_tor.py"
PY = "/usr/bin/python3"

WEB, DNS, CLIENT = "203.0.113.80", "203.0.113.53", "203.0.113.10"
TOR_NET = "198.51.100.0/24"
TOR_CLIENT = "198.51.100.100"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


def load_fake_internet():
    spec = importlib.util.spec_from_file_location("fake_internet", FAKE_INTERNET)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Netns:
    """A throwaway network namespace and every process started in it."""

    def __init__(self):
        self.procs = []
        self.holder = subprocess.Popen(["unshare", "--net", "--", "sleep", "600"],
                                       stdin=subprocess.DEVNULL)
        mine = os.readlink("/proc/self/ns/net")
        lab.wait_until(lambda: self.inode() not in (None, mine), 10, "unshare --net")
        self.ns = self.inode()

    def inode(self):
        try:
            return os.readlink(f"/proc/{self.holder.pid}/ns/net")
        except OSError:
            return None

    def argv(self, cmd):
        return ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--", *map(str, cmd)]

    def run(self, cmd, timeout=30, check=True, **kw):
        p = subprocess.run(self.argv(cmd), capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, **kw)
        if check:
            assert p.returncode == 0, f"{cmd}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def popen(self, cmd, **kw):
        p = subprocess.Popen(self.argv(cmd), stdin=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def python(self, code, *args, timeout=60):
        """Run CODE ARGS... with /usr/bin/python3 in the namespace; stdout is one JSON value."""
        p = self.run([PY, "-c", code, *args], timeout=timeout, check=False)
        assert p.returncode == 0, f"client code failed ({p.returncode}):\n{p.stderr}"
        return json.loads(p.stdout)

    def addresses(self, addrs):
        self.run(["ip", "link", "set", "lo", "up"])
        self.run(["ip", "link", "add", "inet0", "type", "bridge"])
        self.run(["ip", "link", "set", "inet0", "up"])
        for a in addrs:
            # /32s: every lab address is local, so no route leaves the namespace.
            self.run(["ip", "addr", "add", f"{a}/32", "dev", "inet0"])

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 10
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        self.holder.kill()
        self.holder.wait(timeout=10)


@pytest.fixture
def netns(tmp_path):
    ns = Netns()
    try:
        yield ns
    finally:
        ns.close()
    # Nothing of ours may outlive the test: no process naming our files, no namespace.
    lab.wait_until(lambda: not lab.processes_mentioning(str(tmp_path)), 20,
                   f"processes mentioning {tmp_path} to exit")
    held, _ = lab.net_namespaces()
    assert ns.ns not in held, f"namespace {ns.ns} still held"


@pytest.fixture
def unpriv_dir():
    """A folder UNPRIV owns and can reach (pytest's tmp_path sits under a 0700 one)."""
    d = Path(tempfile.mkdtemp(prefix="uvmlab-fixture-"))
    os.chown(d, UNPRIV, UNPRIV)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def wait_file(path, timeout, what):
    lab.wait_until(lambda: os.path.exists(path), timeout, what)


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- DNS parsing, no namespace

def test_dns_parser_answers_and_refuses_malformed_packets():
    fi = load_fake_internet()
    table = {"web.test": WEB}
    q = fi.dns_build_query("WeB.TeSt", qid=0x1234)
    parsed = fi.dns_parse_query(q)
    assert parsed[2] == "WeB.TeSt" and parsed[3] == 1
    resp, rcode, answers = fi.dns_build_response(q, parsed, table, "test")
    assert rcode == 0 and answers == [WEB]
    # The question comes back byte for byte: tor's exits randomise letter case.
    assert resp[12:len(q)] == q[12:]
    assert fi.dns_parse_response(resp, 0x1234) == (0, [WEB])
    q = fi.dns_build_query("nope.test", qid=7)
    assert fi.dns_build_response(q, fi.dns_parse_query(q), table, "test")[1] == 3
    q = fi.dns_build_query("web.test", qtype=28, qid=8)  # AAAA: no data, not NXDOMAIN
    assert fi.dns_build_response(q, fi.dns_parse_query(q), table, "test")[1:] == (0, [])

    good = fi.dns_build_query("web.test", qid=1)
    bad = {
        "empty": b"",
        "short header": good[:11],
        "response bit": good[:2] + b"\x81\x00" + good[4:],
        "two questions": good[:4] + b"\x00\x02" + good[6:],
        "truncated name": good[:15],
        "no type/class": good[:-3],
        "compression pointer": good[:12] + b"\xc0\x0c" + good[-4:],
        "label too long": good[:12] + bytes([64]) + b"a" * 64 + b"\x00" + good[-4:],
        "name too long": good[:12] + (bytes([63]) + b"a" * 63) * 5 + b"\x00" + good[-4:],
        "binary label": good[:12] + b"\x03a\x00b\x00" + good[-4:],
        "oversized": good + b"\x00" * 600,
    }
    for why, pkt in bad.items():
        with pytest.raises(fi.DnsMalformed):
            fi.dns_parse_query(pkt)
            pytest.fail(f"accepted: {why}")


def test_dns_parser_survives_random_and_mutated_packets():
    """A bounded fuzz pass: only DnsMalformed may escape, and answers stay small."""
    fi = load_fake_internet()
    rng = random.Random(4)
    seeds = [fi.dns_build_query(n, qid=i) for i, n in
             enumerate(["web.test", "a.b.c.d.test", "x" * 63 + ".test", "test"])]
    accepted = 0
    for i in range(20000):
        if i % 4 == 0:
            pkt = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        else:
            pkt = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 4)):
                op = rng.randrange(3)
                if op == 0 and pkt:
                    pkt[rng.randrange(len(pkt))] = rng.randrange(256)
                elif op == 1 and pkt:
                    del pkt[rng.randrange(len(pkt)):]
                else:
                    pkt[rng.randrange(len(pkt) + 1):0] = bytes([rng.randrange(256)])
            pkt = bytes(pkt)
        try:
            parsed = fi.dns_parse_query(pkt)
        except fi.DnsMalformed:
            continue
        accepted += 1
        resp, _, _ = fi.dns_build_response(pkt, parsed, {"web.test": WEB}, "test")
        assert len(resp) <= 512 + 16
    assert accepted > 0  # the mutations also reach the answering path


def test_fixtures_refuse_the_host_namespace(tmp_path):
    """Run where a default route exists (the host here): both scripts say no."""
    p = subprocess.run([PY, FAKE_INTERNET, "serve", "--web", WEB, "--dns", DNS, "--log",
                        tmp_path / "log"], capture_output=True, text=True, timeout=30)
    if "refusing" not in p.stderr and p.returncode == 3:
        pytest.skip("this host has no route out: nothing to refuse")
    assert p.returncode == 2 and "refusing" in p.stderr, p.stderr
    assert not (tmp_path / "log").exists()


def test_cli_usage_errors_exit_2(tmp_path):
    for argv in ([FAKE_INTERNET], [FAKE_INTERNET, "serve", "--web", "nonsense", "--dns", DNS,
                                   "--log", tmp_path / "l"],
                 [PRIVATE_TOR], [PRIVATE_TOR, "generate", tmp_path / "n", "--net", "10.0.0.0/24"],
                 [PRIVATE_TOR, "start", tmp_path / "missing"]):
        p = subprocess.run([PY, *map(str, argv)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, f"{argv}: {p.returncode} {p.stderr}"


# ---------------------------------------------------------------- fake internet in a namespace

DNS_CLIENT = r"""
import json, socket, struct, sys
srv, src, packets = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
out = []
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(1.0)
for hexpkt in packets:
    s.sendto(bytes.fromhex(hexpkt), (srv, 53))
    try:
        out.append(s.recv(4096).hex())
    except socket.timeout:
        out.append(None)
print(json.dumps(out))
"""

HTTP_CLIENT = r"""
import json, socket, sys
web, src = sys.argv[1], sys.argv[2]
# A client that connects and says nothing must not stall everyone else.
silent = socket.create_connection((web, 80), timeout=5, source_address=(src, 0))
c = socket.create_connection((web, 80), timeout=5, source_address=(src, 0))
c.sendall(b"GET /probe HTTP/1.1\r\nHost: web.test\r\n\r\n")
data = b""
while True:
    chunk = c.recv(65536)
    if not chunk:
        break
    data += chunk
print(json.dumps(data.decode("utf-8", "replace")))
"""


# an id with no rights anywhere (the lab leases its own, LAB_IDS_BASE and up)
UNPRIV = 65534


def hand_made_query(qid, name, qtype=1):
    pkt = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        pkt += bytes([len(label)]) + label.encode()
    return pkt + b"\x00" + struct.pack("!HH", qtype, 1)


@needs_root
def test_fake_internet_serves_dns_and_web_and_logs_every_client(netns, tmp_path, unpriv_dir):
    netns.addresses([WEB, DNS, CLIENT])
    # the server binds and opens its log as root, then runs as UID, confined
    rundir = unpriv_dir
    log, pidfile = tmp_path / "internet.jsonl", rundir / "internet.pid"
    server = netns.popen([PY, FAKE_INTERNET, "serve", "--web", WEB, "--dns", DNS,
                          "--record", "mail.test=203.0.113.25", "--token", "tok-4711",
                          "--log", log, "--pidfile", pidfile, "--user", f"{UNPRIV}:{UNPRIV}"])
    wait_file(pidfile, 20, "fake internet to bind")

    good = hand_made_query(0xBEEF, "web.test")
    malformed = [b"\x00" * 5, good[:2] + b"\x81\x00" + good[4:],
                 good[:12] + b"\xc0\x0c" + good[-4:], good[:14], os.urandom(600)]
    packets = [good, hand_made_query(0x0102, "nothere.test"),
               hand_made_query(0x0103, "MAIL.test"), *malformed, good]
    replies = netns.python(DNS_CLIENT, DNS, CLIENT, json.dumps([x.hex() for x in packets]))
    replies = [bytes.fromhex(r) if r else None for r in replies]

    first = replies[0]
    assert first[:2] == b"\xbe\xef" and first[2] & 0x80, "not a response to our id"
    assert first[3] & 0x0F == 0 and struct.unpack("!H", first[6:8])[0] == 1
    assert first[-4:] == bytes([203, 0, 113, 80])
    assert replies[1][3] & 0x0F == 3, "unknown name must be NXDOMAIN"
    assert replies[2][-4:] == bytes([203, 0, 113, 25]) and b"MAIL" in replies[2]
    assert replies[3:3 + len(malformed)] == [None] * len(malformed), "malformed got answers"
    assert replies[-1] == first, "server stopped answering after malformed packets"

    page = netns.python(HTTP_CLIENT, WEB, CLIENT)
    assert page.startswith("HTTP/1.0 200") and "tok-4711" in page
    # The CLI probe agrees, and exits 1 when the token is not there.
    netns.run([PY, FAKE_INTERNET, "fetch", "--url", f"http://{WEB}/", "--token", "tok-4711"])
    assert netns.run([PY, FAKE_INTERNET, "fetch", "--url", f"http://{WEB}/", "--token",
                      "other"], check=False).returncode == 1
    assert netns.run([PY, FAKE_INTERNET, "query", "--server", DNS, "zzz.test"],
                     check=False).returncode == 1

    assert server.poll() is None, "server died"
    status = dict(line.split(":", 1) for line in
                  open(f"/proc/{server.pid}/status").read().splitlines())
    assert status["Uid"].split() == [str(UNPRIV)] * 4, status["Uid"]
    assert status["Gid"].split() == [str(UNPRIV)] * 4, status["Gid"]
    assert int(status["CapEff"], 16) == 0 and status["Seccomp"].strip() == "2", status
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=15) == 0
    assert not pidfile.exists()

    entries = read_log(log)
    dns = [e for e in entries if e.get("proto") == "dns" and "qname" in e]
    assert [e["qname"] for e in dns[:3]] == ["web.test", "nothere.test", "MAIL.test"]
    assert all(e["client"] == CLIENT for e in dns[:3]), dns
    assert [e["rcode"] for e in dns[:3]] == ["NOERROR", "NXDOMAIN", "NOERROR"]
    bad = [e for e in entries if e.get("malformed")]
    assert len(bad) == len(malformed) and all(e["client"] == CLIENT for e in bad)
    http = [e for e in entries if e.get("proto") == "http" and e.get("request")]
    assert any(e["request"] == "GET /probe HTTP/1.1" and e["client"] == CLIENT
               and e["host"] == "web.test" and e["status"] == 200 for e in http), http
    stop = entries[-1]
    assert stop["event"] == "stop" and stop["dns_malformed"] == len(malformed)
    assert stop["dns"] >= 4


# ---------------------------------------------------------------- private Tor network

SOCKS_FETCH = r"""
import json, socket, struct, sys, time
socks_port, host, deadline = int(sys.argv[1]), sys.argv[2].encode(), time.monotonic() + 90
def fetch():
    s = socket.create_connection(("127.0.0.1", socks_port), timeout=30)
    s.sendall(b"\x05\x01\x00")                        # SOCKS5, one method: no auth
    if s.recv(2) != b"\x05\x00":
        raise OSError("SOCKS5 method refused")
    # CONNECT by name (ATYP 3): the exit resolves it, the client never does.
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(host)]) + host + struct.pack("!H", 80))
    head = b""
    while len(head) < 5:
        chunk = s.recv(5 - len(head))
        if not chunk:
            raise OSError("SOCKS5 reply cut short")
        head += chunk
    if head[1] != 0:
        raise OSError(f"SOCKS5 CONNECT failed, reply {head[1]}")
    rest = {1: 4 + 2 - 1, 4: 16 + 2 - 1, 3: head[4] + 2}[head[3]]
    while rest > 0:
        chunk = s.recv(rest)
        if not chunk:
            raise OSError("SOCKS5 reply cut short")
        rest -= len(chunk)
    s.sendall(b"GET / HTTP/1.0\r\nHost: " + host + b"\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data.decode("utf-8", "replace")
        data += chunk
errors = []
while True:
    try:
        print(json.dumps({"page": fetch(), "errors": errors}))
        break
    except OSError as e:
        errors.append(str(e))
        if time.monotonic() > deadline:
            print(json.dumps({"page": None, "errors": errors}))
            break
        time.sleep(2)
"""


@needs_root
@pytest.mark.skipif(not (shutil.which("tor") and shutil.which("tor-gencert")),
                    reason="tor not installed (Debian package `tor`)")
@pytest.mark.tor  # a private Tor network: about a minute of wall time
def test_private_tor_network_carries_a_client_to_the_fake_internet(netns, tmp_path, unpriv_dir):
    # every relay runs as UNPRIV (a dynamic id: no passwd entry needed), in tor's sandbox
    d = unpriv_dir / "tor"
    t0 = time.monotonic()
    p = subprocess.run([PY, PRIVATE_TOR, "generate", d, "--net", TOR_NET,
                        "--authorities", "4", "--exits", "2", "--dns", DNS,
                        "--user", f"{UNPRIV}:{UNPRIV}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    t_generate = time.monotonic() - t0
    net = json.loads((d / "network.json").read_text())
    exits = {n["ip"] for n in net["nodes"] if n["role"] == "exit"}
    assert len(net["nodes"]) == 6 and len(exits) == 2
    fragment = (d / "client.torrc").read_text()
    assert fragment.count("DirAuthority ") == 4 and "TestingTorNetwork 1" in fragment

    netns.addresses([WEB, DNS, TOR_CLIENT] + [n["ip"] for n in net["nodes"]])
    log, pidfile = tmp_path / "internet.jsonl", tmp_path / "internet.pid"
    netns.popen([PY, FAKE_INTERNET, "serve", "--web", WEB, "--dns", DNS, "--token",
                 "through-tor-0451", "--log", log, "--pidfile", pidfile])
    wait_file(pidfile, 20, "fake internet to bind")

    owner = str(netns.holder.pid)  # every tor dies with the namespace holder
    try:
        t1 = time.monotonic()
        netns.run([PY, PRIVATE_TOR, "start", d, "--owner", owner], timeout=60)
        def status(pid):
            return dict(line.split(":", 1) for line in
                        open(f"/proc/{pid}/status").read().splitlines())
        for node in json.loads((d / "pids.json").read_text()):
            st = status(node["pid"])
            assert st["Uid"].split() == [str(UNPRIV)] * 4, (node, st["Uid"])
            assert st["Groups"].strip() == "" and int(st["CapEff"], 16) == 0, (node, st)
            # tor loads its sandbox once its startup is done
            lab.wait_until(lambda: status(node["pid"])["Seccomp"].strip() == "2", 60,
                           f"{node['nick']} to enter tor's sandbox")
        cd = tmp_path / "client"
        cd.mkdir(mode=0o700)
        (cd / "torrc").write_text(fragment + "\n".join([
            f"DataDirectory {cd}", "SocksPort 127.0.0.1:9050", f"Log notice file {cd}/notice.log",
            f"OutboundBindAddress {TOR_CLIENT}", "RunAsDaemon 0", ""]))
        netns.popen(["tor", "-f", cd / "torrc", "--defaults-torrc", "/dev/null",
                     "__OwningControllerProcess", owner],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p = netns.run([PY, PRIVATE_TOR, "wait-bootstrap", d, "--timeout", "150"],
                      timeout=170, check=False)
        assert p.returncode == 0, p.stderr
        t_network = time.monotonic() - t1

        def client_ready():
            try:
                return "Bootstrapped 100%" in (cd / "notice.log").read_text()
            except OSError:
                return False
        lab.wait_until(client_ready, 90, "the tor client to bootstrap")
        t_client = time.monotonic() - t1

        status = json.loads(netns.run([PY, PRIVATE_TOR, "status", d]).stdout)
        assert status["bootstrapped"] and all(n["alive"] for n in status["nodes"])

        res = netns.python(SOCKS_FETCH, "9050", "web.test", timeout=120)
        t_fetch = time.monotonic() - t1
        assert res["page"] is not None, res["errors"]
        assert res["page"].startswith("HTTP/1.0 200") and "through-tor-0451" in res["page"]
    finally:
        stop = netns.run([PY, PRIVATE_TOR, "stop", d], timeout=60, check=False)
    assert stop.returncode == 0, stop.stderr

    entries = read_log(log)
    http = [e for e in entries if e.get("proto") == "http"]
    lookups = [e for e in entries if e.get("qname", "").lower() == "web.test"]
    assert http and all(e["client"] in exits for e in http), (http, exits)
    # The exit resolved the name (the client never asked): tor does not bind its
    # resolver socket to OutboundBindAddress, so the source is the kernel's pick.
    assert lookups and all(e["client"] not in (TOR_CLIENT, CLIENT) for e in lookups), lookups
    assert not any(e.get("client") == TOR_CLIENT for e in entries), "client reached directly"
    print(f"\nprivate tor (4 authorities + 2 exits, this host, load as is): generate "
          f"{t_generate:.1f}s, network bootstrapped {t_network:.1f}s, client "
          f"bootstrapped {t_client:.1f}s, first page through tor {t_fetch:.1f}s after start; "
          f"exit seen by web: {sorted({e['client'] for e in http})}; "
          f"SOCKS retries: {len(res['errors'])}")
