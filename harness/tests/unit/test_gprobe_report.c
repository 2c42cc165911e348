/* SPDX-License-Identifier: MIT */
/* test_gprobe_report.c: guest probe reports parsed (hostile ones rejected) and judged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "checks/gprobe_report.c"

#define HDR "{\"format\":\"uvmlab-gprobe/1\",\"kernel\":\"6.1.0-test\"," \
	"\"interfaces\":[{\"ifindex\":1,\"name\":\"lo\",\"mac\":\"00:00:00:00:00:00\"}," \
	"{\"ifindex\":2,\"name\":\"eth0\",\"mac\":\"52:54:00:aa:00:01\"}," \
	"{\"ifindex\":3,\"name\":\"eth1\",\"mac\":\"52:54:00:aa:00:02\"}]," \
	"\"seen\":100,\"lost\":0,\"xdp_redirects\":0,\"truncated\":false,\"tx\":["
#define TOR "\"owner\":{\"cookie\":9,\"uid\":101,\"user\":\"debian-tor\",\"pid\":77,\"comm\":\"tor\"}"
#define ROW(oif, iif, et, proto, port, src, dst, pk, owner) \
	"{\"oif\":" #oif ",\"iif\":" #iif ",\"ethertype\":" #et ",\"proto\":" #proto ",\"port\":" #port \
	",\"src\":\"" src "\",\"dst\":\"" dst "\",\"packets\":" #pk ",\"bytes\":" #pk "00," owner "}"

/* A strict gateway: tor on the uplink, ARP, the kernel's ND, a TIME_WAIT ack
 * toward a relay tor talks to, and tor's replies to the LAN. */
static const char strict[] = HDR
	ROW(2, 0, 2048, 6, 9001, "198.18.2.2", "198.51.100.5", 40, TOR) ","
	ROW(2, 0, 2054, 0, 0, "", "", 3, "\"owner\":null") ","
	ROW(2, 0, 34525, 58, 135, "fe80::1", "ff02::1:ff00:1", 2, "\"owner\":null") ","
	ROW(2, 0, 2048, 6, 9001, "198.18.2.2", "198.51.100.5", 1,
	    "\"owner\":{\"cookie\":3,\"uid\":0,\"user\":\"root\",\"pid\":0,\"comm\":\"\"}") ","
	ROW(3, 0, 2048, 6, 40000, "198.18.3.1", "198.18.3.10", 9, TOR) "]}";

static struct gprobe_report parse_ok(const char *text)
{
	struct gprobe_report r;
	char err[256] = "";

	if (gprobe_report_parse(text, strlen(text), &r, err, sizeof(err)) != 0)
		fail_msg("parse failed: %s", err);
	return r;
}

static void test_parse_strict(void **state)
{
	struct gprobe_report r = parse_ok(strict);
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0xaa, 0, 2 };

	(void)state;
	assert_string_equal(r.kernel, "6.1.0-test");
	assert_int_equal(r.n_ifs, 3);
	assert_int_equal(r.n_tx, 5);
	assert_int_equal(r.tx[0].owner.uid, 101);
	assert_string_equal(r.tx[0].owner.comm, "tor");
	assert_false(r.tx[1].owner.present);
	assert_int_equal(r.tx[2].ethertype, 0x86dd);
	assert_int_equal(gprobe_report_if_by_mac(&r, mac)->ifindex, 3);
	gprobe_report_free(&r);
}

/* The lab kernel builds in sit0/tunl0/ip6tnl0: the probe reports them with
 * "mac":"" and such an interface must parse yet match no address, not even
 * all zeros (which lo has). */
static void test_parse_interface_without_mac(void **state)
{
	static const char text[] = "{\"format\":\"uvmlab-gprobe/1\",\"kernel\":\"6.1.0-test\","
		"\"interfaces\":[{\"ifindex\":1,\"name\":\"lo\",\"mac\":\"00:00:00:00:00:00\"},"
		"{\"ifindex\":2,\"name\":\"sit0\",\"mac\":\"\"}],"
		"\"seen\":0,\"lost\":0,\"xdp_redirects\":0,\"truncated\":false,\"tx\":[]}";
	static const uint8_t zero[6] = { 0 };
	struct gprobe_report r = parse_ok(text);

	(void)state;
	assert_int_equal(r.n_ifs, 2);
	assert_false(r.ifs[1].has_mac);
	assert_true(r.ifs[0].has_mac);
	assert_int_equal(gprobe_report_if_by_mac(&r, zero)->ifindex, 1);
	r.ifs[0].has_mac = 0;
	assert_null(gprobe_report_if_by_mac(&r, zero));
	gprobe_report_free(&r);
}

static int judge_attr_empty(const char *text, uint32_t ifindex, const char *const *users, size_t nu,
			    const char *const *procs, size_t np, int allow_empty, char *ev, size_t evlen,
			    size_t *n_findings)
{
	struct gprobe_report r = parse_ok(text);
	struct gprobe_allow allow = { users, nu, procs, np };
	const struct gprobe_if *ifc = NULL;
	json_t *detail = NULL;
	int pass;

	for (size_t i = 0; i < r.n_ifs; i++)
		if (r.ifs[i].ifindex == ifindex)
			ifc = &r.ifs[i];
	assert_non_null(ifc);
	pass = gprobe_judge_attribution(&r, ifc, &allow, allow_empty, ev, evlen, &detail);
	*n_findings = json_array_size(detail);
	json_decref(detail);
	gprobe_report_free(&r);
	return pass;
}

static int judge_attr(const char *text, uint32_t ifindex, const char *const *users, size_t nu,
		      const char *const *procs, size_t np, char *ev, size_t evlen, size_t *n_findings)
{
	return judge_attr_empty(text, ifindex, users, nu, procs, np, 0, ev, evlen, n_findings);
}

static void test_attribution_strict_passes(void **state)
{
	static const char *const users[] = { "debian-tor" };
	char ev[1024];
	size_t nf;

	(void)state;
	assert_int_equal(judge_attr(strict, 2, users, 1, NULL, 0, ev, sizeof(ev), &nf), 1);
	assert_int_equal(nf, 0);
	assert_non_null(strstr(ev, "40 packets, all from allowed owners (debian-tor/tor)"));
	assert_non_null(strstr(ev, "5 link-layer"));
	assert_non_null(strstr(ev, "1 kernel replies"));
	/* the same, allowed by process name instead of user */
	{
		static const char *const procs[] = { "tor" };

		assert_int_equal(judge_attr(strict, 2, NULL, 0, procs, 1, ev, sizeof(ev), &nf), 1);
	}
}

/* Owners outside the list fail, named with their process. */
static void test_attribution_other_process_fails(void **state)
{
	static const char *const users[] = { "debian-tor" };
	static const char text[] = HDR
		ROW(2, 0, 2048, 6, 9001, "198.18.2.2", "198.51.100.5", 40, TOR) ","
		ROW(2, 0, 2048, 6, 80, "198.18.2.2", "203.0.113.10", 6,
		    "\"owner\":{\"cookie\":12,\"uid\":0,\"user\":\"root\",\"pid\":412,\"comm\":\"nc\"}") "]}";
	char ev[1024];
	size_t nf;

	(void)state;
	assert_int_equal(judge_attr(text, 2, users, 1, NULL, 0, ev, sizeof(ev), &nf), 0);
	assert_int_equal(nf, 1);
	assert_non_null(strstr(ev, "6 packets not from an allowed owner"));
	assert_non_null(strstr(ev, "root/nc pid 412 198.18.2.2 -> 203.0.113.10 tcp/80"));
	/* a process allowed by name but another user: a comm match is enough */
	{
		static const char *const procs[] = { "tor", "nc" };

		assert_int_equal(judge_attr(text, 2, NULL, 0, procs, 2, ev, sizeof(ev), &nf), 1);
	}
}

/* Forwarded packets on the uplink have no local owner; a kernel TCP packet
 * toward a peer no allowed owner talks to is not excused. */
static void test_attribution_forwarded_and_kernel_fail(void **state)
{
	static const char *const users[] = { "debian-tor" };
	static const char text[] = HDR
		ROW(2, 3, 2048, 6, 80, "198.18.3.10", "203.0.113.10", 5, "\"owner\":null") ","
		ROW(2, 0, 2048, 6, 22, "198.18.2.2", "203.0.113.9", 1,
		    "\"owner\":{\"cookie\":3,\"uid\":0,\"user\":\"\",\"pid\":0,\"comm\":\"\"}") ","
		ROW(2, 0, 2048, 17, 53, "198.18.2.2", "203.0.113.53", 2, "\"owner\":null") "]}";
	char ev[1024];
	size_t nf;

	(void)state;
	assert_int_equal(judge_attr(text, 2, users, 1, NULL, 0, ev, sizeof(ev), &nf), 0);
	assert_int_equal(nf, 3);
	assert_non_null(strstr(ev, "8 packets not from an allowed owner"));
	assert_non_null(strstr(ev, "eth1 -> eth0 198.18.3.10 -> 203.0.113.10 tcp/80 (5 pk)"));
	assert_non_null(strstr(ev, "uid 0 (socket of no known process)"));
}

/* Silence is not evidence: an interface that sent nothing, or only ARP and
 * the kernel's ND, is inconclusive unless the check allows an empty picture. */
static void test_attribution_silent_inconclusive(void **state)
{
	static const char *const users[] = { "debian-tor" };
	static const char text[] = HDR
		ROW(2, 0, 2048, 6, 9001, "198.18.2.2", "198.51.100.5", 40, TOR) ","
		ROW(3, 0, 2054, 0, 0, "", "", 3, "\"owner\":null") ","
		ROW(3, 0, 34525, 58, 135, "fe80::1", "ff02::1:ff00:1", 2, "\"owner\":null") "]}";
	static const char empty[] = HDR "]}";
	char ev[1024];
	size_t nf;

	(void)state;
	assert_int_equal(judge_attr(text, 3, users, 1, NULL, 0, ev, sizeof(ev), &nf), GPROBE_INCONCLUSIVE);
	assert_int_equal(nf, 0);
	assert_non_null(strstr(ev, "inconclusive: eth1 sent no packet beyond link-layer control (5 link-layer)"));
	assert_int_equal(judge_attr_empty(text, 3, users, 1, NULL, 0, 1, ev, sizeof(ev), &nf), GPROBE_PASS);
	assert_non_null(strstr(ev, "eth1: 0 packets, all from allowed owners (none sent)"));
	assert_int_equal(judge_attr(empty, 2, users, 1, NULL, 0, ev, sizeof(ev), &nf), GPROBE_INCONCLUSIVE);
	assert_int_equal(judge_attr_empty(empty, 2, users, 1, NULL, 0, 1, ev, sizeof(ev), &nf), GPROBE_PASS);
	/* the busy interface is judged as before */
	assert_int_equal(judge_attr(text, 2, users, 1, NULL, 0, ev, sizeof(ev), &nf), GPROBE_PASS);
	/* a bad packet is a failure, not silence, even among link-layer control */
	{
		static const char bad[] = HDR
			ROW(3, 0, 2054, 0, 0, "", "", 3, "\"owner\":null") ","
			ROW(3, 0, 2048, 17, 53, "198.18.3.1", "203.0.113.53", 1, "\"owner\":null") "]}";

		assert_int_equal(judge_attr(bad, 3, users, 1, NULL, 0, ev, sizeof(ev), &nf), GPROBE_FAIL);
	}
	/* the kernel's own ND and MLD are link-layer control even when the socket
	 * that sent them belongs to an allowed user (root, no process): they
	 * must not turn silence into a pass */
	{
		static const char *const root[] = { "root" };
		static const char nd[] = HDR
			ROW(3, 0, 34525, 58, 135, "fe80::1", "ff02::1:ff00:1", 1,
			    "\"owner\":{\"cookie\":3,\"uid\":0,\"user\":\"root\",\"pid\":0,\"comm\":\"\"}") ","
			ROW(3, 0, 34525, 58, 143, "fe80::1", "ff02::16", 1,
			    "\"owner\":{\"cookie\":4,\"uid\":0,\"user\":\"root\",\"pid\":0,\"comm\":\"\"}") "]}";

		assert_int_equal(judge_attr(nd, 3, root, 1, NULL, 0, ev, sizeof(ev), &nf), GPROBE_INCONCLUSIVE);
		assert_non_null(strstr(ev, "(2 link-layer)"));
	}
	assert_string_equal(gprobe_verdict_name(GPROBE_INCONCLUSIVE), "inconclusive");
	assert_string_equal(gprobe_verdict_name(GPROBE_PASS), "pass");
	assert_string_equal(gprobe_verdict_name(GPROBE_FAIL), "fail");
}

/* A VM that sent no payload proves neither forwarding nor its absence. */
static void test_forwarding_silent_inconclusive(void **state)
{
	static const char quiet[] = HDR
		ROW(2, 0, 2054, 0, 0, "", "", 3, "\"owner\":null") ","
		ROW(3, 0, 34525, 58, 133, "fe80::1", "ff02::2", 1, "\"owner\":null") "]}";
	static const char empty[] = HDR "]}";
	struct gprobe_report r;
	char ev[1024];

	(void)state;
	r = parse_ok(quiet);
	assert_int_equal(gprobe_judge_forwarding(&r, 0, 0, ev, sizeof(ev), NULL), GPROBE_INCONCLUSIVE);
	assert_non_null(strstr(ev, "inconclusive: the VM sent no packet beyond link-layer control"));
	assert_int_equal(gprobe_judge_forwarding(&r, 1, 0, ev, sizeof(ev), NULL), GPROBE_INCONCLUSIVE);
	assert_int_equal(gprobe_judge_forwarding(&r, 0, 1, ev, sizeof(ev), NULL), GPROBE_PASS);
	assert_int_equal(gprobe_judge_forwarding(&r, 1, 1, ev, sizeof(ev), NULL), GPROBE_FAIL);
	gprobe_report_free(&r);
	r = parse_ok(empty);
	assert_int_equal(gprobe_judge_forwarding(&r, 0, 0, ev, sizeof(ev), NULL), GPROBE_INCONCLUSIVE);
	/* XDP redirects are forwarding, never silence */
	r.xdp_redirects = 2;
	assert_int_equal(gprobe_judge_forwarding(&r, 0, 0, ev, sizeof(ev), NULL), GPROBE_FAIL);
	assert_int_equal(gprobe_judge_forwarding(&r, 1, 0, ev, sizeof(ev), NULL), GPROBE_PASS);
	gprobe_report_free(&r);
}

static void test_forwarding(void **state)
{
	static const char fwd[] = HDR
		ROW(2, 3, 2048, 1, 8, "198.18.3.10", "203.0.113.10", 3, "\"owner\":null") "]}";
	struct gprobe_report r;
	json_t *d = NULL;
	char ev[1024];

	(void)state;
	r = parse_ok(strict);
	assert_int_equal(gprobe_judge_forwarding(&r, 0, 0, ev, sizeof(ev), &d), 1);
	assert_non_null(strstr(ev, "55 packets sent, 0 forwarded"));
	assert_int_equal(gprobe_judge_forwarding(&r, 1, 0, ev, sizeof(ev), NULL), 0);
	json_decref(d);
	gprobe_report_free(&r);

	r = parse_ok(fwd);
	assert_int_equal(gprobe_judge_forwarding(&r, 0, 0, ev, sizeof(ev), &d), 0);
	assert_int_equal(json_array_size(d), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "in")), "eth1");
	assert_non_null(strstr(ev, "3 of 3 packets sent were received on another interface"));
	assert_non_null(strstr(ev, "eth1 -> eth0 198.18.3.10 -> 203.0.113.10 icmp type 8"));
	assert_int_equal(gprobe_judge_forwarding(&r, 1, 0, ev, sizeof(ev), NULL), 1);
	json_decref(d);
	gprobe_report_free(&r);
}

/* XDP redirects and lost updates: never a pass for "nothing happened". */
static void test_xdp_and_incomplete(void **state)
{
	char buf[2048], ev[512];
	struct gprobe_report r;
	const char *p;

	(void)state;
	snprintf(buf, sizeof(buf), "%s", strict);
	p = strstr(buf, "\"xdp_redirects\":0");
	assert_non_null(p);
	memcpy((char *)p + 16, "4", 1);
	r = parse_ok(buf);
	assert_int_equal(gprobe_judge_forwarding(&r, 0, 0, ev, sizeof(ev), NULL), 0);
	assert_non_null(strstr(ev, "4 XDP redirects"));
	gprobe_report_free(&r);

	snprintf(buf, sizeof(buf), "%s", strict);
	p = strstr(buf, "\"lost\":0");
	memcpy((char *)p + 7, "7", 1);
	r = parse_ok(buf);
	assert_int_equal(gprobe_judge_forwarding(&r, 0, 0, ev, sizeof(ev), NULL), 0);
	assert_non_null(strstr(ev, "incomplete (7 updates lost"));
	{
		static const char *const users[] = { "debian-tor" };
		struct gprobe_allow allow = { users, 1, NULL, 0 };

		assert_int_equal(gprobe_judge_attribution(&r, &r.ifs[1], &allow, 0, ev, sizeof(ev), NULL), 0);
	}
	gprobe_report_free(&r);
}

/* Hostile or broken reports are rejected with a reason naming the field. */
static void test_parse_rejects(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "{\"format\":\"uvmlab-gprobe/2\"}", "format" },
		{ HDR "]", "not JSON" },
		{ HDR "]}x", "not JSON" },
		{ HDR ROW(2, 0, 2048, 6, 70000, "a", "b", 1, "\"owner\":null") "]}", "tx[0].port" },
		{ HDR ROW(0, 0, 2048, 6, 7, "a", "b", 1, "\"owner\":null") "]}", "tx[0].oif" },
		{ HDR ROW(2, 0, 2048, 6, 7, "a", "b", -1, "\"owner\":null") "]}", "tx[0].packets" },
		{ HDR ROW(2, 0, 2048, 6, 7, "x y", "b", 1, "\"owner\":null") "]}", "tx[0].src" },
		{ HDR ROW(2, 0, 2048, 6, 7, "a", "b", 1, "\"owner\":7") "]}", "tx[0].owner" },
		{ HDR "{\"oif\":2}]}", "tx[0].iif" },
		{ HDR ROW(2, 0, 2048, 6, 7, "a", "b", 1,
			  "\"owner\":{\"cookie\":1,\"uid\":0,\"user\":\"r\",\"pid\":1,\"comm\":\"0123456789abcdefX\"}")
		  "]}", "tx[0].owner.comm: longer" },
		{ HDR ROW(2, 0, 2048, 6, 7, "a", "b", 1,
			  "\"owner\":{\"cookie\":1,\"uid\":0,\"user\":\"r\\u0001\",\"pid\":1,\"comm\":\"c\"}")
		  "]}", "tx[0].owner.user: unexpected byte 0x01" },
		{ "{\"format\":\"uvmlab-gprobe/1\",\"format\":\"uvmlab-gprobe/1\"}", "not JSON" },
		{ "{\"format\":\"uvmlab-gprobe/1\",\"kernel\":\"k\",\"seen\":1,\"lost\":0,"
		  "\"xdp_redirects\":0,\"truncated\":0}", "truncated" },
		{ "{\"format\":\"uvmlab-gprobe/1\",\"kernel\":\"k\",\"seen\":1,\"lost\":0,"
		  "\"xdp_redirects\":0,\"truncated\":false,\"interfaces\":[{\"ifindex\":2,\"name\":\"e\","
		  "\"mac\":\"52:54:00:aa:00:0\"}],\"tx\":[]}", "interfaces[0].mac" },
		{ "{\"format\":\"uvmlab-gprobe/1\",\"kernel\":\"k\",\"seen\":1,\"lost\":0,"
		  "\"xdp_redirects\":0,\"truncated\":false,\"interfaces\":[{\"ifindex\":2,\"name\":\"e\","
		  "\"mac\":\"52:54:00:aa:00:01\"},{\"ifindex\":2,\"name\":\"f\",\"mac\":\"52:54:00:aa:00:02\"}],"
		  "\"tx\":[]}", "listed twice" },
	};
	struct gprobe_report r;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (gprobe_report_parse(bad[i].text, strlen(bad[i].text), &r, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu accepted", i);
		if (!strstr(err, bad[i].why))
			fail_msg("case %zu: error \"%s\" does not name \"%s\"", i, err, bad[i].why);
		gprobe_report_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_strict),
		cmocka_unit_test(test_parse_interface_without_mac),
		cmocka_unit_test(test_attribution_strict_passes),
		cmocka_unit_test(test_attribution_other_process_fails),
		cmocka_unit_test(test_attribution_forwarded_and_kernel_fail),
		cmocka_unit_test(test_attribution_silent_inconclusive),
		cmocka_unit_test(test_forwarding),
		cmocka_unit_test(test_forwarding_silent_inconclusive),
		cmocka_unit_test(test_xdp_and_incomplete),
		cmocka_unit_test(test_parse_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
