/* SPDX-License-Identifier: MIT */
/* test_checks_reach.c: reach verdicts from both ends, the guest-output parsers, the driver over a fake lab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "checks/checks_reach.c"
#include "checks/check_schemas.h"

/* A string literal and its length without the terminating NUL (inner NULs count). */
#define STR_LEN(s) (s), (sizeof(s) - 1)

/* ------------------------------------------------------------------ fake lab
 * The driver never looks inside struct lab: the fakes below get the test's
 * own state through that pointer. Each test owns one struct fake_lab. */
enum fake_mode {
	FAKE_OPEN = 0,       /* the target receives and echoes */
	FAKE_CLOSED,         /* the source's probe times out, the target sees nothing */
	FAKE_BIND_FAILS,     /* the port is taken in the target */
	FAKE_NO_TOOL,        /* the target has no uvmlab-xfer */
	FAKE_SELF_FAILS,     /* the self-probe gets no echo */
	FAKE_AGENT_DIES,     /* the source's agent connection fails */
};

struct fake_lab {
	enum fake_mode mode;
	char token[32], self[32], out[96];
	int killed, removed, execs;
	int probed_from_source;
};

static struct fake_lab *fake_of(struct lab *lab) { return (struct fake_lab *)(void *)lab; }

static void fake_set(struct agent_exec_result *res, const char *out, uint32_t status)
{
	memset(res, 0, sizeof(*res));
	res->out = (uint8_t *)strdup(out);
	res->out_len = strlen(out);
	res->status = status;
}

int lab_exec(struct lab *lab, const char *vm, const char *const *argv, uint32_t timeout_ms,
	     struct agent_exec_result *res)
{
	struct fake_lab *f = fake_of(lab);
	char line[200];

	(void)timeout_ms;
	f->execs++;
	if (!strcmp(argv[0], "sh")) {
		const char *t = strstr(argv[2], "--token ");
		const char *o = strchr(argv[2], '>');

		assert_non_null(t);
		assert_non_null(o);
		assert_int_equal(sscanf(t, "--token %31s --token %31s", f->token, f->self), 2);
		assert_int_equal(sscanf(o, ">%95s", f->out), 1);
		assert_string_equal(vm, "b");
		fake_set(res, "4242\n", 0);
		return 0;
	}
	if (!strcmp(argv[0], "kill")) {
		assert_string_equal(argv[1], "4242");
		f->killed = 1;
		fake_set(res, "", 0);
		return 0;
	}
	if (!strcmp(argv[0], "rm")) {
		assert_string_equal(argv[2], f->out);
		f->removed = 1;
		fake_set(res, "", 0);
		return 0;
	}
	if (!strcmp(argv[0], "ping")) {
		fake_set(res, "", f->mode == FAKE_OPEN ? 0 : 1);
		return 0;
	}
	assert_string_equal(argv[0], "uvmlab-xfer");
	assert_string_equal(argv[1], "probe");
	if (!strcmp(vm, "b")) {
		assert_string_equal(argv[5], f->self);
		snprintf(line, sizeof(line), "reach-probe result proto=tcp to=%s connect=handshake echo=%s "
			 "errno=0 sent=1\n", argv[3], f->mode == FAKE_SELF_FAILS ? "none" : "token");
		fake_set(res, line, 0);
		return 0;
	}
	assert_string_equal(vm, "a");
	assert_string_equal(argv[5], f->token);
	if (f->mode == FAKE_AGENT_DIES)
		return -EPIPE;
	f->probed_from_source = 1;
	if (f->mode == FAKE_OPEN)
		snprintf(line, sizeof(line), "reach-probe result proto=tcp to=%s connect=handshake "
			 "echo=token errno=0 sent=1\n", argv[3]);
	else
		snprintf(line, sizeof(line), "reach-probe result proto=tcp to=%s connect=timeout "
			 "echo=none errno=ETIMEDOUT sent=0\n", argv[3]);
	fake_set(res, line, 0);
	return 0;
}

int lab_read_file(struct lab *lab, const char *vm, const char *path, uint8_t **data, size_t *len)
{
	struct fake_lab *f = fake_of(lab);
	char buf[1024];
	size_t n = 0;

	assert_string_equal(vm, "b");
	if (!strcmp(path, "/proc/net/snmp")) {
		static const char snmp[] =
			"Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs "
			"InRedirects InEchos InEchoReps OutMsgs OutEchos OutEchoReps\n"
			"Icmp: 1 0 0 0 0 0 0 0 %d 0 0 0 %d\n";

		n = (size_t)snprintf(buf, sizeof(buf), snmp, f->execs, f->mode == FAKE_OPEN ? f->execs : 0);
		goto done;
	}
	assert_string_equal(path, f->out);
	if (f->mode == FAKE_NO_TOOL) {
		n = (size_t)snprintf(buf, sizeof(buf), "sh: uvmlab-xfer: not found\n");
		goto done;
	}
	if (f->mode == FAKE_BIND_FAILS) {
		n = (size_t)snprintf(buf, sizeof(buf), "reach-listen error op=bind errno=EADDRINUSE\n");
		goto done;
	}
	n = (size_t)snprintf(buf, sizeof(buf), "reach-listen listening proto=tcp addr=198.18.1.2:8080\n");
	if (f->mode != FAKE_SELF_FAILS)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "reach-listen conn from=198.18.1.2:40000\n"
				      "reach-listen token from=198.18.1.2:40000 token=%s echo=1\n", f->self);
	if (f->probed_from_source && f->mode == FAKE_OPEN)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "reach-listen conn from=198.18.1.1:40001\n"
				      "reach-listen token from=198.18.1.1:40001 token=%s echo=1\n", f->token);
	if (f->killed)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "reach-listen end events=4 dropped=0\n");
done:
	*data = (uint8_t *)strndup(buf, n);
	*len = n;
	return 0;
}

const char *lab_error(const struct lab *lab) { (void)lab; return "vm \"a\": agent: Broken pipe"; }
void lab_set_err(struct lab *lab, const char *fmt, ...) { (void)lab; (void)fmt; }
void agent_exec_result_release(struct agent_exec_result *res)
{
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}

/* Two VMs on one network: a 198.18.1.1, b 198.18.1.2. */
struct fake_plan {
	struct plan plan;
	struct plan_net net;
	struct plan_vm vms[2];
};

static void fake_plan_init(struct fake_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->net.name = "lan";
	p->vms[0].name = "a";
	p->vms[1].name = "b";
	p->vms[0].n_nics = p->vms[1].n_nics = 1;
	p->vms[0].nics[0].addr = 0xc6120101u;
	p->vms[1].nics[0].addr = 0xc6120102u;
	p->plan.nets = &p->net;
	p->plan.n_nets = 1;
	p->plan.vms = p->vms;
	p->plan.n_vms = 2;
}

static json_t *fake_run(enum fake_mode mode, enum scn_proto proto, enum scn_expect expect,
			struct checks_summary *sum, int *ret, struct fake_lab *f)
{
	struct fake_plan p;
	struct scn_check c;
	json_t *row = json_object();

	fake_plan_init(&p);
	memset(&c, 0, sizeof(c));
	memset(f, 0, sizeof(*f));
	memset(sum, 0, sizeof(*sum));
	f->mode = mode;
	c.kind = CHECK_REACH;
	c.from.name = "a";
	c.to.name = "b";
	c.proto = proto;
	c.port = proto == SCN_PROTO_ICMP ? 0 : 8080;
	c.expect = expect;
	*ret = checks_reach_run((struct lab *)(void *)f, &p.plan, &c, row, sum);
	return row;
}

static const char *row_str(json_t *row, const char *key)
{
	return json_string_value(json_object_get(row, key));
}

static void test_driver_open_path(void **state)
{
	struct checks_summary sum;
	struct fake_lab f;
	int ret;
	json_t *row = fake_run(FAKE_OPEN, SCN_PROTO_TCP, SCN_EXPECT_ALLOWED, &sum, &ret, &f);
	json_t *tgt = json_object_get(row, "target_saw");

	(void)state;
	assert_int_equal(ret, 0);
	assert_string_equal(row_str(row, "verdict"), "pass");
	assert_int_equal(sum.passed, 1);
	assert_string_equal(row_str(row, "addr"), "198.18.1.2");
	assert_non_null(strstr(row_str(row, "evidence"),
			       "tcp 198.18.1.2:8080 from a: handshake, token echoed; b saw token from 198.18.1.1"));
	assert_string_equal(row_str(json_object_get(row, "source_saw"), "connect"), "handshake");
	assert_string_equal(row_str(tgt, "token_from"), "198.18.1.1");
	assert_true(json_is_true(json_object_get(tgt, "self_probe_ok")));
	assert_true(json_is_true(json_object_get(tgt, "complete")));
	assert_int_equal(strlen(f.token), 16);
	assert_int_equal(strlen(f.self), 16);
	assert_string_not_equal(f.token, f.self);
	assert_true(f.killed);
	assert_true(f.removed);
	json_decref(row);

	row = fake_run(FAKE_OPEN, SCN_PROTO_TCP, SCN_EXPECT_BLOCKED, &sum, &ret, &f);
	assert_string_equal(row_str(row, "verdict"), "fail");
	assert_int_equal(sum.failed, 1);
	json_decref(row);
}

static void test_driver_closed_path(void **state)
{
	struct checks_summary sum;
	struct fake_lab f;
	int ret;
	json_t *row = fake_run(FAKE_CLOSED, SCN_PROTO_TCP, SCN_EXPECT_BLOCKED, &sum, &ret, &f);

	(void)state;
	assert_int_equal(ret, 0);
	assert_string_equal(row_str(row, "verdict"), "pass");
	assert_non_null(strstr(row_str(row, "evidence"), "from a: timeout after 3 s; b saw nothing in "));
	assert_non_null(strstr(row_str(row, "evidence"), "(self-probe ok)"));
	json_decref(row);
}

/* A listener that cannot start is a lab error, never "blocked". */
static void test_driver_listener_fails(void **state)
{
	static const enum fake_mode modes[] = { FAKE_BIND_FAILS, FAKE_NO_TOOL, FAKE_SELF_FAILS };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct checks_summary sum;
		struct fake_lab f;
		int ret;
		json_t *row = fake_run(modes[i], SCN_PROTO_TCP, SCN_EXPECT_BLOCKED, &sum, &ret, &f);

		assert_int_equal(ret, 0);
		assert_string_equal(row_str(row, "verdict"), "error");
		assert_int_equal(sum.errors, 1);
		assert_int_equal(sum.passed, 0);
		assert_false(f.probed_from_source);
		assert_true(f.killed);
		if (modes[i] == FAKE_BIND_FAILS)
			assert_non_null(strstr(row_str(row, "evidence"), "did not start (bind EADDRINUSE)"));
		if (modes[i] == FAKE_NO_TOOL)
			assert_non_null(strstr(row_str(row, "evidence"), "uvmlab-xfer: not found"));
		if (modes[i] == FAKE_SELF_FAILS)
			assert_non_null(strstr(row_str(row, "evidence"), "self-probe in b failed"));
		json_decref(row);
	}
}

static void test_driver_agent_failure(void **state)
{
	struct checks_summary sum;
	struct fake_lab f;
	int ret;
	json_t *row = fake_run(FAKE_AGENT_DIES, SCN_PROTO_TCP, SCN_EXPECT_ALLOWED, &sum, &ret, &f);

	(void)state;
	assert_int_equal(ret, -EPIPE);
	assert_string_equal(row_str(row, "verdict"), "error");
	assert_string_equal(row_str(row, "evidence"), "vm \"a\": agent: Broken pipe");
	assert_int_equal(sum.errors, 1);
	assert_true(f.killed);   /* the listener is stopped anyway */
	json_decref(row);
}

static void test_driver_paused_target(void **state)
{
	struct fake_plan p;
	struct scn_check c;
	struct checks_summary sum = { 0 };
	struct fake_lab f = { 0 };
	json_t *row = json_object();

	(void)state;
	fake_plan_init(&p);
	memset(&c, 0, sizeof(c));
	c.from.name = "a";
	c.to.name = "b";
	c.while_stopped.name = "b";
	c.proto = SCN_PROTO_ICMP;
	c.expect = SCN_EXPECT_BLOCKED;
	assert_int_equal(checks_reach_run((struct lab *)(void *)&f, &p.plan, &c, row, &sum), 0);
	assert_string_equal(row_str(row, "verdict"), "error");
	assert_int_equal(sum.errors, 1);
	assert_int_equal(f.execs, 0);
	json_decref(row);
}

static void test_driver_icmp(void **state)
{
	struct checks_summary sum;
	struct fake_lab f;
	int ret;
	json_t *row = fake_run(FAKE_OPEN, SCN_PROTO_ICMP, SCN_EXPECT_ALLOWED, &sum, &ret, &f);

	(void)state;
	assert_string_equal(row_str(row, "verdict"), "pass");
	assert_non_null(strstr(row_str(row, "evidence"), "ping 198.18.1.2 from a: exit 0 after 1 try, echo reply; "
					       "b counted 1 echo request, sent 1 reply"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(row, "target_saw"),
							    "echo_requests")), 1);
	json_decref(row);
	row = fake_run(FAKE_CLOSED, SCN_PROTO_ICMP, SCN_EXPECT_BLOCKED, &sum, &ret, &f);
	/* the fake's counter moves with every exec: a request counted, no reply */
	assert_string_equal(row_str(row, "verdict"), "fail");
	assert_non_null(strstr(row_str(row, "evidence"), "the path is one-way"));
	json_decref(row);
}

/* ------------------------------------------------------------- the verdict */
static void obs_base(struct reach_obs *o, enum scn_proto proto)
{
	memset(o, 0, sizeof(*o));
	o->proto = proto;
	o->from = "a";
	o->to = "b";
	strcpy(o->addr, "198.18.1.2");
	o->port = 8080;
	o->timeout_s = 3;
	o->window_ms = 3100;
	o->tgt.listening = 1;
	o->tgt.ended = 1;
	o->tgt.n_self = 1;
	o->self.ran = 1;
	o->self.connect = proto == SCN_PROTO_UDP ? REACH_CONNECT_SENT : REACH_CONNECT_HANDSHAKE;
	o->self.echo = REACH_ECHO_TOKEN;
	o->src.ran = 1;
	strcpy(o->src.err, "0");
}

enum src_case { SRC_ECHOED, SRC_HANDSHAKE_ONLY, SRC_REFUSED, SRC_TIMEOUT, SRC_UNREACHABLE, SRC_CASES };

static void obs_src(struct reach_obs *o, enum src_case s)
{
	int udp = o->proto == SCN_PROTO_UDP;

	o->src.echo = s == SRC_ECHOED ? REACH_ECHO_TOKEN : REACH_ECHO_NONE;
	o->src.sent = s <= SRC_HANDSHAKE_ONLY || udp;
	switch (s) {
	case SRC_ECHOED:
	case SRC_HANDSHAKE_ONLY:
		o->src.connect = udp ? REACH_CONNECT_SENT : REACH_CONNECT_HANDSHAKE;
		break;
	case SRC_REFUSED:
		o->src.connect = REACH_CONNECT_REFUSED;
		strcpy(o->src.err, "ECONNREFUSED");
		break;
	case SRC_TIMEOUT:
		/* udp has no timeout of its own: silence is "sent, no reply" */
		o->src.connect = udp ? REACH_CONNECT_SENT : REACH_CONNECT_TIMEOUT;
		break;
	default:
		o->src.connect = REACH_CONNECT_UNREACHABLE;
		strcpy(o->src.err, "EHOSTUNREACH");
		break;
	}
}

static void obs_delivered(struct reach_obs *o)
{
	o->tgt.n_token_src = 1;
	o->tgt.n_conn_src = o->proto == SCN_PROTO_TCP;
	strcpy(o->tgt.token_from, "198.18.1.1");
}

static enum reach_verdict judge(const struct reach_obs *o, enum scn_expect e, char *ev)
{
	enum reach_verdict v = reach_judge_verdict(o, e, ev, 512);

	assert_true(strlen(ev) > 0 && strlen(ev) < 512);
	return v;
}

/* Every pairing of what the target saw and what the source saw, both expectations. */
static void test_verdict_matrix(void **state)
{
	/* [proto][target saw token][source case] -> {allowed, blocked} */
	static const enum reach_verdict want[2][2][SRC_CASES][2] = {
		{ /* tcp */
			{ /* target saw nothing */
				[SRC_ECHOED] = { REACH_FAIL, REACH_FAIL },         /* an impostor answered */
				[SRC_HANDSHAKE_ONLY] = { REACH_FAIL, REACH_FAIL },
				[SRC_REFUSED] = { REACH_FAIL, REACH_PASS },
				[SRC_TIMEOUT] = { REACH_FAIL, REACH_PASS },
				[SRC_UNREACHABLE] = { REACH_FAIL, REACH_PASS },
			},
			{ /* target saw the token from a */
				[SRC_ECHOED] = { REACH_PASS, REACH_FAIL },
				[SRC_HANDSHAKE_ONLY] = { REACH_FAIL, REACH_FAIL },  /* return path cut */
				[SRC_REFUSED] = { REACH_FAIL, REACH_FAIL },
				[SRC_TIMEOUT] = { REACH_FAIL, REACH_FAIL },
				[SRC_UNREACHABLE] = { REACH_FAIL, REACH_FAIL },
			},
		},
		{ /* udp */
			{
				[SRC_ECHOED] = { REACH_FAIL, REACH_FAIL },
				[SRC_HANDSHAKE_ONLY] = { REACH_FAIL, REACH_PASS },  /* sent, no reply */
				[SRC_REFUSED] = { REACH_FAIL, REACH_PASS },
				[SRC_TIMEOUT] = { REACH_FAIL, REACH_PASS },
				[SRC_UNREACHABLE] = { REACH_FAIL, REACH_PASS },
			},
			{
				[SRC_ECHOED] = { REACH_PASS, REACH_FAIL },
				[SRC_HANDSHAKE_ONLY] = { REACH_PASS, REACH_FAIL },  /* one way is enough for udp */
				[SRC_REFUSED] = { REACH_FAIL, REACH_FAIL },
				[SRC_TIMEOUT] = { REACH_PASS, REACH_FAIL },
				[SRC_UNREACHABLE] = { REACH_FAIL, REACH_FAIL },
			},
		},
	};
	int p, d, s, e;

	(void)state;
	for (p = 0; p < 2; p++)
		for (d = 0; d < 2; d++)
			for (s = 0; s < SRC_CASES; s++)
				for (e = 0; e < 2; e++) {
					struct reach_obs o;
					char ev[512];
					enum reach_verdict v;

					obs_base(&o, p ? SCN_PROTO_UDP : SCN_PROTO_TCP);
					obs_src(&o, (enum src_case)s);
					if (d)
						obs_delivered(&o);
					v = judge(&o, e ? SCN_EXPECT_BLOCKED : SCN_EXPECT_ALLOWED, ev);
					if (v != want[p][d][s][e])
						fail_msg("proto %s, target %s, source case %d, expect %s: got %d want %d (%s)",
							 p ? "udp" : "tcp", d ? "got token" : "saw nothing", s,
							 e ? "blocked" : "allowed", v, want[p][d][s][e], ev);
				}
}

static void test_verdict_evidence(void **state)
{
	struct reach_obs o;
	char ev[512];

	(void)state;
	obs_base(&o, SCN_PROTO_TCP);
	obs_src(&o, SRC_ECHOED);
	obs_delivered(&o);
	assert_int_equal(judge(&o, SCN_EXPECT_ALLOWED, ev), REACH_PASS);
	assert_string_equal(ev, "tcp 198.18.1.2:8080 from a: handshake, token echoed; b saw token from 198.18.1.1");

	obs_base(&o, SCN_PROTO_UDP);
	o.port = 5353;
	obs_src(&o, SRC_TIMEOUT);
	assert_int_equal(judge(&o, SCN_EXPECT_BLOCKED, ev), REACH_PASS);
	assert_string_equal(ev, "udp 198.18.1.2:5353 from a: sent, no reply; b saw nothing in 3.1 s (self-probe ok)");

	obs_base(&o, SCN_PROTO_TCP);
	obs_src(&o, SRC_REFUSED);
	o.window_ms = 89;   /* an RST or ICMP error ends the probe early */
	assert_int_equal(judge(&o, SCN_EXPECT_BLOCKED, ev), REACH_PASS);
	assert_non_null(strstr(ev, "from a: refused (RST); b saw nothing in 89 ms (self-probe ok)"));

	obs_base(&o, SCN_PROTO_TCP);
	obs_src(&o, SRC_UNREACHABLE);
	assert_int_equal(judge(&o, SCN_EXPECT_ALLOWED, ev), REACH_FAIL);
	assert_non_null(strstr(ev, "from a: unreachable (EHOSTUNREACH)"));

	obs_base(&o, SCN_PROTO_TCP);
	obs_src(&o, SRC_HANDSHAKE_ONLY);
	obs_delivered(&o);
	assert_int_equal(judge(&o, SCN_EXPECT_ALLOWED, ev), REACH_FAIL);
	assert_non_null(strstr(ev, "the return path is cut"));

	/* stray traffic is reported but does not change a verdict */
	obs_base(&o, SCN_PROTO_TCP);
	obs_src(&o, SRC_TIMEOUT);
	o.tgt.n_other = 2;
	strcpy(o.tgt.stray_from, "198.18.1.9");
	assert_int_equal(judge(&o, SCN_EXPECT_BLOCKED, ev), REACH_PASS);
	assert_non_null(strstr(ev, "and 2 other events (first from 198.18.1.9)"));

	/* a handshake accepted from a, no token after it */
	obs_base(&o, SCN_PROTO_TCP);
	obs_src(&o, SRC_HANDSHAKE_ONLY);
	o.tgt.n_conn_src = 1;
	assert_int_equal(judge(&o, SCN_EXPECT_BLOCKED, ev), REACH_FAIL);
	assert_non_null(strstr(ev, "b accepted a connection from a but got no token"));
}

/* The token came through, but from an address that is not a's (NAT, proxy). */
static void test_verdict_wrong_address(void **state)
{
	static const enum scn_proto protos[] = { SCN_PROTO_TCP, SCN_PROTO_UDP };
	size_t i;
	int e;

	(void)state;
	for (i = 0; i < 2; i++)
		for (e = 0; e < 2; e++) {
			struct reach_obs o;
			char ev[512];

			obs_base(&o, protos[i]);
			obs_src(&o, SRC_ECHOED);
			o.tgt.n_token_other = 1;
			strcpy(o.tgt.other_from, "198.18.2.1");
			assert_int_equal(judge(&o, e ? SCN_EXPECT_BLOCKED : SCN_EXPECT_ALLOWED, ev), REACH_FAIL);
			assert_non_null(strstr(ev, "b saw token from 198.18.2.1"));
			assert_non_null(strstr(ev, "not the source's"));
		}
}

/* No positive control, no verdict: the listener or its self-probe failed. */
static void test_verdict_control_failures(void **state)
{
	int c, e;

	(void)state;
	for (c = 0; c < 6; c++)
		for (e = 0; e < 2; e++) {
			struct reach_obs o;
			char ev[512];

			obs_base(&o, c % 2 ? SCN_PROTO_UDP : SCN_PROTO_TCP);
			obs_src(&o, SRC_TIMEOUT);   /* would be "blocked" */
			switch (c / 2) {
			case 0:
				o.tgt.listening = 0;
				strcpy(o.listen_line, "sh: uvmlab-xfer: not found");
				break;
			case 1:
				strcpy(o.tgt.error, "bind EADDRINUSE");
				break;
			default:
				o.self.echo = REACH_ECHO_NONE;
				break;
			}
			assert_int_equal(judge(&o, e ? SCN_EXPECT_BLOCKED : SCN_EXPECT_ALLOWED, ev), REACH_ERROR);
		}
	{
		struct reach_obs o;
		char ev[512];

		/* the prober said it got the echo, the listener never saw the self token */
		obs_base(&o, SCN_PROTO_TCP);
		obs_src(&o, SRC_TIMEOUT);
		o.tgt.n_self = 0;
		assert_int_equal(judge(&o, SCN_EXPECT_BLOCKED, ev), REACH_ERROR);
		assert_non_null(strstr(ev, "self-probe in b failed"));
		/* a listener that died before it was stopped cannot vouch for silence */
		obs_base(&o, SCN_PROTO_UDP);
		obs_src(&o, SRC_TIMEOUT);
		o.tgt.ended = 0;
		assert_int_equal(judge(&o, SCN_EXPECT_BLOCKED, ev), REACH_ERROR);
		assert_non_null(strstr(ev, "report incomplete"));
		/* ... but a token it did see is still a token */
		obs_delivered(&o);
		assert_int_equal(judge(&o, SCN_EXPECT_ALLOWED, ev), REACH_PASS);
		/* the source's prober did not run (no result line) */
		obs_base(&o, SCN_PROTO_TCP);
		o.src.ran = 0;
		assert_int_equal(judge(&o, SCN_EXPECT_BLOCKED, ev), REACH_ERROR);
		assert_non_null(strstr(ev, "probe did not run"));
		obs_base(&o, SCN_PROTO_TCP);
		o.src.connect = REACH_CONNECT_ERROR;
		strcpy(o.src.err, "EMFILE");
		assert_int_equal(judge(&o, SCN_EXPECT_ALLOWED, ev), REACH_ERROR);
		assert_int_equal(reach_judge_verdict(&o, SCN_EXPECT_ALLOWED, NULL, 0), REACH_ERROR);
		/* evidence is cut, never overrun */
		obs_base(&o, SCN_PROTO_TCP);
		obs_src(&o, SRC_TIMEOUT);
		assert_int_equal(reach_judge_verdict(&o, SCN_EXPECT_BLOCKED, ev, 10), REACH_PASS);
		assert_int_equal(strlen(ev), 9);
	}
}

static void test_verdict_icmp(void **state)
{
	/* {replies, requests counted} -> {allowed, blocked} */
	static const struct { uint32_t replies; uint64_t counted; enum reach_verdict a, b; const char *says; } cases[] = {
		{ 1, 1, REACH_PASS, REACH_FAIL, "b counted 1 echo request, sent 1 reply" },
		{ 0, 0, REACH_FAIL, REACH_PASS, "no reply; b counted no echo request" },
		{ 0, 2, REACH_FAIL, REACH_FAIL, "b counted 2 echo requests, sent 2 replies: the path is one-way" },
		{ 1, 0, REACH_FAIL, REACH_FAIL, "something else answers for 198.18.1.2" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reach_obs o;
		char ev[512];

		obs_base(&o, SCN_PROTO_ICMP);
		o.icmp.tries = cases[i].replies ? 1 : 2;
		o.icmp.replies = cases[i].replies;
		o.icmp.last_status = cases[i].replies ? 0 : 1;
		o.icmp.counters_ok = 1;
		o.icmp.in_echos = o.icmp.out_echo_reps = cases[i].counted;
		assert_int_equal(judge(&o, SCN_EXPECT_ALLOWED, ev), cases[i].a);
		assert_int_equal(judge(&o, SCN_EXPECT_BLOCKED, ev), cases[i].b);
		if (!strstr(ev, cases[i].says))
			fail_msg("case %zu: %s", i, ev);
		o.icmp.counters_ok = 0;
		assert_int_equal(judge(&o, SCN_EXPECT_BLOCKED, ev), REACH_ERROR);
		assert_non_null(strstr(ev, "could not read b's ICMP counters"));
		o.icmp.counters_err = -ETIMEDOUT;
		assert_int_equal(judge(&o, SCN_EXPECT_ALLOWED, ev), REACH_ERROR);
		assert_non_null(strstr(ev, "could not read b's ICMP counters: Connection timed out"));
	}
}

/* ------------------------------------------------------- the output parsers */
static void test_parse_probe(void **state)
{
	static const char text[] =
		"uvmlab-xfer: something on stderr\n"
		"reach-probe result proto=tcp to=198.18.1.2:80 connect=bogus echo=none errno=0 sent=0\n"
		"reach-probe result proto=tcp to=198.18.1.2:80 connect=refused echo=none errno=ECONNREFUSED sent=0\n"
		"reach-probe result proto=tcp to=198.18.1.2:80 connect=handshake echo=token errno=0 sent=1\n";
	struct reach_probe_obs p;

	(void)state;
	reach_judge_parse_probe(text, strlen(text), &p);
	assert_true(p.ran);
	assert_int_equal(p.connect, REACH_CONNECT_REFUSED);
	assert_string_equal(p.err, "ECONNREFUSED");
	reach_judge_parse_probe(STR_LEN("reach-probe result connect=sent echo=token errno=0 sent=3"), &p);
	assert_true(p.ran);
	assert_int_equal(p.connect, REACH_CONNECT_SENT);
	assert_int_equal(p.echo, REACH_ECHO_TOKEN);
	assert_int_equal(p.sent, 3);
	/* what must not parse */
	static const char *const bad[] = {
		"",
		"reach-probe result",
		"reach-probe result connect=sent echo=token errno=0",                 /* no sent */
		"reach-probe result connect=sent echo=maybe errno=0 sent=1",
		"reach-probe result connect=sent echo=token errno=0 sent=-1",
		"reach-probe result connect=sent echo=token errno=0 sent=99999999999",
		"reach-probe result connect=sent echo=token errno=EAAAAAAAAAAAAAAAAAAAAAAAAAAAAA sent=1",
		"reach-probe result connect=sent echo=token errno=0 sent=1 a=1 b=2 c=3 d=4 e=5",
		"reach-probe result connect=sent echo=token =0 sent=1",
		"reach-probe  result connect=sent echo=token errno=0 sent=1",
		"reach-proberesult connect=sent echo=token errno=0 sent=1",
		"reach-probe other connect=sent echo=token errno=0 sent=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reach_judge_parse_probe(bad[i], strlen(bad[i]), &p);
		if (p.ran)
			fail_msg("parsed: %s", bad[i]);
	}
	/* a NUL inside the line, and no buffer at all */
	reach_judge_parse_probe(STR_LEN("reach-probe result connect=sent\0 echo=token errno=0 sent=1"), &p);
	assert_false(p.ran);
	reach_judge_parse_probe(NULL, 10, &p);
	assert_false(p.ran);
}

static void test_parse_listen(void **state)
{
	struct reach_judge_keys keys = { "tok", "self", { 0xc6120101u, 0xc6120201u }, 2 };
	struct reach_listen_obs o;
	char big[2048];
	static const char text[] =
		"reach-listen listening proto=tcp addr=198.18.1.2:8080\n"
		"reach-listen conn from=198.18.1.2:1\n"
		"reach-listen token from=198.18.1.2:1 token=self echo=1\n"
		"reach-listen conn from=198.18.2.1:2\n"                      /* a's second NIC */
		"reach-listen token from=198.18.2.1:2 token=tok echo=1\n"
		"reach-listen token from=198.18.9.9:3 token=tok echo=1\n"    /* not a's */
		"reach-listen token from=198.18.9.8:3 token=other echo=1\n"
		"reach-listen bytes from=198.18.9.7:4 len=5\n"
		"reach-listen token from=999.1.1.1:3 token=tok echo=1\n"     /* malformed */
		"reach-listen token from=198.18.1.1 token=tok echo=1\n"      /* no port */
		"reach-listen token from=198.18.1.1:70000 token=tok echo=1\n"
		"reach-listen token token=tok\n"
		"reach-listen end events=9 dropped=3\r\n";

	(void)state;
	reach_judge_parse_listen(text, strlen(text), &keys, &o);
	assert_true(o.listening);
	assert_true(o.ended);
	assert_int_equal(o.dropped, 3);
	assert_int_equal(o.n_self, 1);
	assert_int_equal(o.n_conn_src, 1);
	assert_int_equal(o.n_token_src, 1);
	assert_string_equal(o.token_from, "198.18.2.1");
	assert_int_equal(o.n_token_other, 1);
	assert_string_equal(o.other_from, "198.18.9.9");
	assert_int_equal(o.n_other, 2);
	assert_string_equal(o.stray_from, "198.18.9.8");

	reach_judge_parse_listen(STR_LEN("reach-listen error op=bind errno=EADDRINUSE\n"), &keys, &o);
	assert_false(o.listening);
	assert_string_equal(o.error, "bind EADDRINUSE");

	/* an over-long line is skipped whole, the next one still counts */
	memset(big, 'x', sizeof(big));
	memcpy(big, "reach-listen listening ", 23);
	memcpy(big + sizeof(big) - 30, "\nreach-listen end events=0 ", 27);
	reach_judge_parse_listen(big, sizeof(big) - 3, &keys, &o);
	assert_false(o.listening);
	assert_true(o.ended);
	/* a final line without newline counts; truncated input never reads past LEN */
	reach_judge_parse_listen(text, (size_t)(strchr(text, '\n') - text), &keys, &o);
	assert_true(o.listening);
	reach_judge_parse_listen(text, 19, &keys, &o);   /* "reach-listen listen" */
	assert_false(o.listening);
}

static void test_parse_snmp(void **state)
{
	static const char snmp[] =
		"Ip: Forwarding DefaultTTL InReceives\n"
		"Ip: 2 64 100\n"
		"Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs "
		"InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps "
		"OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds "
		"OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps "
		"OutTimestampReps OutAddrMasks OutAddrMaskReps\n"
		"Icmp: 7 0 0 2 0 0 0 0 5 0 0 0 0 0 9 0 0 0 3 0 0 0 0 1 5 0 0 0 0\n"
		"IcmpMsg: InType3 InType8 OutType0\n"
		"IcmpMsg: 2 5 5\n";
	uint64_t v = 0;

	(void)state;
	assert_int_equal(reach_judge_snmp(snmp, strlen(snmp), "Icmp", "InEchos", &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(reach_judge_snmp(snmp, strlen(snmp), "Icmp", "OutEchoReps", &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(reach_judge_snmp(snmp, strlen(snmp), "Ip", "InReceives", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(reach_judge_snmp(snmp, strlen(snmp), "Icmp", "NoSuch", &v), -ENOENT);
	assert_int_equal(reach_judge_snmp(snmp, strlen(snmp), "Tcp", "InEchos", &v), -ENOENT);
	/* values before any header, a short value line, junk values */
	assert_int_equal(reach_judge_snmp(STR_LEN("Icmp: 1 2 3\n"), "Icmp", "InMsgs", &v), -ENOENT);
	assert_int_equal(reach_judge_snmp(STR_LEN("Icmp: A B C\nIcmp: 1 2\n"), "Icmp", "C", &v), -ENOENT);
	assert_int_equal(reach_judge_snmp(STR_LEN("Icmp: A B\nIcmp: 1 2x\n"), "Icmp", "B", &v), -ENOENT);
	assert_int_equal(reach_judge_snmp(STR_LEN("Icmp: A B\nIcmp: 1 99999999999999999999999\n"), "Icmp", "B", &v),
			 -ENOENT);
	assert_int_equal(reach_judge_snmp(STR_LEN("Icmp: A B\nIcmp: 1 2\n"), "Icmp", "B", &v), 0);
	assert_int_equal(v, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_matrix),
		cmocka_unit_test(test_verdict_evidence),
		cmocka_unit_test(test_verdict_wrong_address),
		cmocka_unit_test(test_verdict_control_failures),
		cmocka_unit_test(test_verdict_icmp),
		cmocka_unit_test(test_parse_probe),
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_parse_snmp),
		cmocka_unit_test(test_driver_open_path),
		cmocka_unit_test(test_driver_closed_path),
		cmocka_unit_test(test_driver_listener_fails),
		cmocka_unit_test(test_driver_agent_failure),
		cmocka_unit_test(test_driver_paused_target),
		cmocka_unit_test(test_driver_icmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
