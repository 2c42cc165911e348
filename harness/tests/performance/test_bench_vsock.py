"""uvmlab bench vsock: every direction and write size verified, raw samples, both ratios present.

No assertion on speed: the targets (backend CPU within 3x of memcpy, vsock vs
virtio-net) are numbers the benchmark reports, judged by people and by the
comparison step."""
import pytest

from framework.lab import leftovers, result_of, scenario, uvmlab

pytestmark = pytest.mark.boots


def test_bench_vsock_samples_and_ratios(lab_results):
    r = uvmlab("bench", "vsock", scenario("vsock"), "--repeat", "1", results=lab_results)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    assert res["bench"]["kind"] == "vsock"
    combos = {(m["direction"], m["transport"], m["msg"]) for m in res["metrics"]}
    for d in ("host->guest", "guest->host", "guest->guest"):
        for msg in (64, 4096, 65536, 1048576):
            assert (d, "vsock", msg) in combos
    assert ("guest->guest", "virtio-net-tcp", 65536) in combos
    for m in res["metrics"]:
        assert len(m["samples"]) == 1
        s = m["samples"][0]
        assert s["ok"] is True, m
        assert s["bytes"] == m["bytes"] and len(s["fnv1a"]) == 16
        assert s["recv_mbps"] > 0
    rat = res["ratios"]
    assert rat["backend_cpu_vs_memcpy"]["memcpy_cpu_s_per_gib"] > 0
    assert rat["backend_cpu_vs_memcpy"]["value"] > 0
    assert rat["g2g_vsock_vs_virtio_net"]["value"] > 0
    assert "ratio backend_cpu_vs_memcpy" in r.out
    assert not leftovers(run_dir.name)
