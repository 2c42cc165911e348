/* SPDX-License-Identifier: MIT */
/* checks_reach.c: reach checks between VMs, a listener in the target and a probe from the source. */
#include "checks/checks_reach.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "lab/lab_plugin.h"
#include "checks/reach_judge.h"
#include "base/util.h"

#define CHECKS_REACH_PROBE_S   3       /* how long a probe waits for an answer */
#define CHECKS_REACH_LISTEN_S  120     /* the listener's own bound; we stop it well before */
#define CHECKS_REACH_EXEC_MS   15000   /* per guest command */
#define CHECKS_REACH_POLL_MS   100
#define CHECKS_REACH_READY_POLLS 80    /* 8 s for the listener to bind */
#define CHECKS_REACH_END_POLLS   30    /* 3 s for its end line once stopped */
#define CHECKS_REACH_SNMP      "/proc/net/snmp"

/* A fresh token: 16 hex digits from the host's getrandom(). BUF holds 17. */
static int checks_reach_token(char *buf)
{
	uint8_t b[8];
	size_t i;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -errno;
	for (i = 0; i < sizeof(b); i++)
		snprintf(buf + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* Run ARGV in VM; *TEXT gets stdout then stderr (malloc'd, NUL-terminated). */
static int checks_reach_exec(struct lab *lab, const char *vm, const char *const *argv,
			     uint32_t *status, char **text)
{
	struct agent_exec_result r = { 0 };
	int ret = lab_exec(lab, vm, argv, CHECKS_REACH_EXEC_MS, &r);

	*text = NULL;
	if (ret < 0)
		return ret;
	*status = r.timed_out ? 255 : r.status;
	if (asprintf(text, "%.*s%s%.*s", (int)r.out_len, r.out ? (char *)r.out : "",
		     r.out_len && r.err_len ? "\n" : "", (int)r.err_len, r.err ? (char *)r.err : "") < 0)
		*text = NULL;
	agent_exec_result_release(&r);
	return *text ? 0 : -ENOMEM;
}

/* Read the listener's report so far; 0 and *OBS parsed, or the read's error. */
static int checks_reach_read_listener(struct lab *lab, const char *vm, const char *path,
				      const struct reach_judge_keys *keys, struct reach_obs *o)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int ret = lab_read_file(lab, vm, path, &data, &len);

	if (ret == 0) {
		reach_judge_parse_listen((const char *)data, len, keys, &o->tgt);
		util_last_line((const char *)data, o->listen_line, sizeof(o->listen_line));
	}
	free(data);
	return ret;
}

/* The listener failed before saying it listens (a shell error, a bind error). */
static int checks_reach_listener_gave_up(const struct reach_obs *o)
{
	return o->tgt.error[0] || (o->listen_line[0] && strncmp(o->listen_line, "reach-listen ", 13));
}

static void checks_reach_probe(const struct reach_obs *o, const char *dst, const char *token,
			       const char **argv, char *timeout)
{
	snprintf(timeout, 8, "%u", o->timeout_s);
	argv[0] = "uvmlab-xfer";
	argv[1] = "probe";
	argv[2] = o->proto == SCN_PROTO_UDP ? "--udp" : "--tcp";
	argv[3] = dst;
	argv[4] = "--token";
	argv[5] = token;
	argv[6] = "--timeout";
	argv[7] = timeout;
	argv[8] = NULL;
}

static json_t *checks_reach_probe_json(const struct reach_probe_obs *p)
{
	return json_pack("{s:s,s:s,s:s,s:i}", "connect", reach_judge_connect_name(p->connect),
			 "echo", reach_judge_echo_name(p->echo), "errno", p->ran ? p->err : "",
			 "sent", (int)p->sent);
}

static void checks_reach_row_sockets(json_t *row, const struct reach_obs *o)
{
	const struct reach_listen_obs *t = &o->tgt;
	json_t *tgt = json_pack("{s:b,s:b,s:i,s:i,s:i,s:i,s:i,s:o}", "listening", t->listening,
				"complete", t->ended, "token_from_source", (int)t->n_token_src,
				"token_from_other", (int)t->n_token_other,
				"connections_from_source", (int)t->n_conn_src, "other_events", (int)t->n_other,
				"dropped", (int)t->dropped, "self_probe", checks_reach_probe_json(&o->self));

	if (tgt)
		json_object_set_new(tgt, "window_ms", json_integer(o->window_ms));
	if (tgt && t->token_from[0])
		json_object_set_new(tgt, "token_from", json_string(t->token_from));
	if (tgt && t->other_from[0])
		json_object_set_new(tgt, "other_from", json_string(t->other_from));
	if (tgt && t->error[0])
		json_object_set_new(tgt, "error", json_string(t->error));
	else if (tgt && !t->listening && o->listen_line[0])
		json_object_set_new(tgt, "error", json_string(o->listen_line));
	if (tgt)
		json_object_set_new(tgt, "self_probe_ok", json_boolean(o->self.echo == REACH_ECHO_TOKEN &&
									 t->n_self > 0));
	json_object_set_new(row, "source_saw", checks_reach_probe_json(&o->src));
	json_object_set_new(row, "target_saw", tgt);
}

/* tcp/udp: listener in TO, self-probe, probe from FROM, listener's report. */
static int checks_reach_socket(struct lab *lab, const struct plan_vm *from, const struct plan_vm *to,
			       struct reach_obs *o)
{
	char token[17], self[17], out[64], cmd[400], pid[16] = "", dst[24], tmo[8];
	const char *sh[] = { "sh", "-c", cmd, NULL };
	const char *probe[9];
	struct reach_judge_keys keys = { token, self, { 0 }, 0 };
	char *text = NULL;
	uint32_t status = 0;
	uint64_t t0 = 0;
	size_t i;
	int ret;

	for (i = 0; i < from->n_nics && i < REACH_JUDGE_MAX_SRC; i++)
		keys.src[keys.n_src++] = from->nics[i].addr;
	ret = checks_reach_token(token);
	if (ret == 0)
		ret = checks_reach_token(self);
	if (ret < 0) {
		lab_set_err(lab, "reach: getrandom: %s", strerror(-ret));
		return ret;
	}
	snprintf(dst, sizeof(dst), "%s:%u", o->addr, o->port);
	snprintf(out, sizeof(out), "/tmp/uvmlab-reach-%s.out", token);
	snprintf(cmd, sizeof(cmd), "uvmlab-xfer listen %s %s --token %s --token %s --timeout %d "
		 ">%s 2>&1 & echo $!", o->proto == SCN_PROTO_UDP ? "--udp" : "--tcp", dst, token, self,
		 CHECKS_REACH_LISTEN_S, out);
	ret = checks_reach_exec(lab, o->to, sh, &status, &text);
	if (ret < 0)
		return ret;
	snprintf(pid, sizeof(pid), "%.*s", (int)strspn(text, "0123456789"), text);
	free(text);
	text = NULL;
	for (i = 0; i < CHECKS_REACH_READY_POLLS; i++) {
		if (checks_reach_read_listener(lab, o->to, out, &keys, o) == 0 &&
		    (o->tgt.listening || checks_reach_listener_gave_up(o)))
			break;
		usleep(CHECKS_REACH_POLL_MS * 1000);
	}
	if (!o->tgt.listening || o->tgt.error[0])
		goto stop;   /* judged as a lab error: silence would prove nothing */

	checks_reach_probe(o, dst, self, probe, tmo);
	ret = checks_reach_exec(lab, o->to, probe, &status, &text);
	if (ret < 0)
		goto stop;
	reach_judge_parse_probe(text, strlen(text), &o->self);
	free(text);
	text = NULL;
	/* the control must have reached the listener before the real probe starts */
	for (i = 0; i < CHECKS_REACH_END_POLLS && o->self.echo == REACH_ECHO_TOKEN && !o->tgt.n_self; i++) {
		if (checks_reach_read_listener(lab, o->to, out, &keys, o) == 0 && o->tgt.n_self)
			break;
		usleep(CHECKS_REACH_POLL_MS * 1000);
	}
	if (o->self.echo != REACH_ECHO_TOKEN || !o->tgt.n_self)
		goto stop;

	checks_reach_probe(o, dst, token, probe, tmo);
	t0 = util_mono_ns();
	ret = checks_reach_exec(lab, o->from, probe, &status, &text);
	if (ret < 0)
		goto stop;
	reach_judge_parse_probe(text, strlen(text), &o->src);
	free(text);
	text = NULL;
stop:
	if (pid[0]) {
		const char *kill_argv[] = { "kill", pid, NULL };
		int r2 = checks_reach_exec(lab, o->to, kill_argv, &status, &text);

		if (t0)
			o->window_ms = (uint32_t)((util_mono_ns() - t0) / 1000000);
		free(text);
		text = NULL;
		if (r2 < 0 && ret >= 0)
			ret = r2;
		/* its end line says the report is complete; a dead listener has none */
		for (i = 0; ret >= 0 && o->tgt.listening && i < CHECKS_REACH_END_POLLS; i++) {
			if (checks_reach_read_listener(lab, o->to, out, &keys, o) == 0 && o->tgt.ended)
				break;
			usleep(CHECKS_REACH_POLL_MS * 1000);
		}
	}
	if (ret >= 0) {
		/* a lab kept up for many `uvmlab check` rounds keeps no reports around */
		const char *rm_argv[] = { "rm", "-f", out, NULL };

		if (checks_reach_exec(lab, o->to, rm_argv, &status, &text) == 0)
			free(text);
	}
	return ret;
}

static int checks_reach_snmp(struct lab *lab, const char *vm, uint64_t *echos, uint64_t *reps)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int ret = lab_read_file(lab, vm, CHECKS_REACH_SNMP, &data, &len);

	if (ret == 0 && (reach_judge_snmp((const char *)data, len, "Icmp", "InEchos", echos) < 0 ||
			 reach_judge_snmp((const char *)data, len, "Icmp", "OutEchoReps", reps) < 0))
		ret = -EBADMSG;
	free(data);
	return ret;
}

/* icmp: ping from FROM, TO's echo counters before and after. */
static int checks_reach_icmp(struct lab *lab, const struct scn_check *c, struct reach_obs *o)
{
	const char *argv[] = { "ping", "-c", "1", "-W", "2", o->addr, NULL };
	uint32_t tries = c->expect == SCN_EXPECT_ALLOWED ? 3 : 2, i;
	uint64_t e0 = 0, r0 = 0, e1 = 0, r1 = 0;
	int before = checks_reach_snmp(lab, o->to, &e0, &r0), after, ret = 0;

	for (i = 0; i < tries; i++) {
		uint32_t status = 0;
		char *text = NULL;

		ret = checks_reach_exec(lab, o->from, argv, &status, &text);
		free(text);
		if (ret < 0)
			return ret;
		o->icmp.tries++;
		o->icmp.last_status = status;
		if (status == 0) {
			o->icmp.replies++;
			break;
		}
	}
	after = before == 0 ? checks_reach_snmp(lab, o->to, &e1, &r1) : before;
	if (after == 0 && e1 >= e0 && r1 >= r0) {
		o->icmp.counters_ok = 1;
		o->icmp.in_echos = e1 - e0;
		o->icmp.out_echo_reps = r1 - r0;
	} else {
		/* say why the read failed (counters that went backwards: no errno) */
		o->icmp.counters_err = after < 0 ? after : 0;
	}
	return 0;
}

int checks_reach_run(struct lab *lab, const struct plan *plan, const struct scn_check *c,
		     json_t *row, struct checks_summary *sum)
{
	const struct plan_vm *from = plan_find_vm(plan, c->from.name);
	const struct plan_vm *to = plan_find_vm(plan, c->to.name);
	struct reach_obs o;
	enum reach_verdict v;
	char evidence[768];
	uint32_t a;
	int ret;

	memset(&o, 0, sizeof(o));
	if (!from || !to || plan_target_addr(plan, from, to, c->network.name, &a) < 0) {
		json_object_set_new(row, "verdict", json_string("error"));
		json_object_set_new(row, "evidence", json_string("target has no address"));
		sum->errors++;
		return 0;
	}
	if (c->while_stopped.name && !strcmp(c->while_stopped.name, c->to.name)) {
		/* a paused target can neither listen nor count: no verdict from one end */
		json_object_set_new(row, "verdict", json_string("error"));
		json_object_set_new(row, "evidence", json_string("the target is paused (while_stopped): its side "
								 "cannot be observed; pause a VM on the path"));
		sum->errors++;
		return 0;
	}
	o.proto = c->proto;
	o.from = c->from.name;
	o.to = c->to.name;
	o.port = c->port;
	o.timeout_s = CHECKS_REACH_PROBE_S;
	plan_fmt_addr(a, o.addr);
	json_object_set_new(row, "addr", json_string(o.addr));
	if (c->proto == SCN_PROTO_ICMP)
		ret = checks_reach_icmp(lab, c, &o);
	else
		ret = checks_reach_socket(lab, from, to, &o);
	if (ret < 0) {
		json_object_set_new(row, "verdict", json_string("error"));
		json_object_set_new(row, "evidence", json_string(lab_error(lab)));
		sum->errors++;
		return ret;
	}
	v = reach_judge_verdict(&o, c->expect, evidence, sizeof(evidence));
	json_object_set_new(row, "verdict", json_string(v == REACH_PASS ? "pass" : v == REACH_FAIL ? "fail"
											: "error"));
	json_object_set_new(row, "evidence", json_string(evidence));
	if (c->proto == SCN_PROTO_ICMP) {
		json_object_set_new(row, "attempts", json_integer(o.icmp.tries));
		json_object_set_new(row, "source_saw", json_pack("{s:i,s:i,s:i}", "tries", (int)o.icmp.tries,
								  "replies", (int)o.icmp.replies,
								  "exit", (int)o.icmp.last_status));
		json_object_set_new(row, "target_saw", o.icmp.counters_ok ?
				    json_pack("{s:I,s:I}", "echo_requests", (json_int_t)o.icmp.in_echos,
					      "echo_replies_sent", (json_int_t)o.icmp.out_echo_reps) :
				    json_pack("{s:s}", "error", "could not read " CHECKS_REACH_SNMP));
	} else {
		checks_reach_row_sockets(row, &o);
	}
	if (v == REACH_PASS)
		sum->passed++;
	else if (v == REACH_FAIL)
		sum->failed++;
	else
		sum->errors++;
	return 0;
}
