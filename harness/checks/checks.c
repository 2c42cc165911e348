/* SPDX-License-Identifier: MIT */
/* checks.c: run a scenario's checks against a live lab and judge them. */
#include "services/service_schemas.h"
#include "checks/checks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks/check.h"
#include "lab/lab_plugin.h"
#include "base/util.h"

const char *checks_verdict_name(enum checks_verdict v)
{
	switch (v) {
	case CHECKS_VERDICT_PASS:         return "pass";
	case CHECKS_VERDICT_INCONCLUSIVE: return "inconclusive";
	case CHECKS_VERDICT_ERROR:        return "error";
	default:                          return "fail";
	}
}

void checks_verdict_record(json_t *row, struct checks_summary *sum, enum checks_verdict v, const char *ev)
{
	json_object_set_new(row, "verdict", json_string(checks_verdict_name(v)));
	json_object_set_new(row, "evidence", json_string(ev));
	if (v == CHECKS_VERDICT_PASS)
		sum->passed++;
	else if (v == CHECKS_VERDICT_INCONCLUSIVE)
		sum->inconclusive++;
	else if (v == CHECKS_VERDICT_ERROR)
		sum->errors++;
	else
		sum->failed++;
}

/* From a closed agent socket to a zombie QEMU: how long a failed check waits
 * to see whether a VM died under it. */
#define CHECKS_DYING_MS 1000

/* A verdict recorded with checks_verdict_record() (V: its name, NULL for
 * none) becomes an error: the counts follow. */
static void checks_verdict_retract(struct checks_summary *sum, const char *v)
{
	if (v && !strcmp(v, "pass"))
		sum->passed--;
	else if (v && !strcmp(v, "inconclusive"))
		sum->inconclusive--;
	else if (v && !strcmp(v, "fail"))
		sum->failed--;
	sum->errors++;
}

/* A VM the check needs that is dead or hung is named so, before any verdict. */
static int checks_need_vm(struct lab *lab, const char *name, json_t *row, struct checks_summary *sum)
{
	int ret;

	if (!name || !strcmp(name, SCN_HOST) || !strcmp(name, SERVICE_INTERNET_REF))
		return 0;
	ret = lab_health_require(lab, name);
	if (ret < 0)
		checks_verdict_record(row, sum, CHECKS_VERDICT_ERROR, lab_error(lab));
	return ret;
}

static int checks_one(struct lab *lab, const struct plan *plan, const struct scn_check *c,
		      json_t *row, struct checks_summary *sum)
{
	int ret = checks_need_vm(lab, c->from.name, row, sum);
	const char *verdict;
	char what[100];
	int err;

	if (!ret)
		ret = checks_need_vm(lab, c->to.name, row, sum);
	if (ret < 0)
		return ret;   /* the row names the dead or hung VM already */
	ret = check_get(c->kind)->run(lab, plan, c, row, sum);
	verdict = json_string_value(json_object_get(row, "verdict"));
	if (ret >= 0 && verdict && !strcmp(verdict, "pass"))
		return ret;
	/* Name a VM that died under the check, not what its agent socket said;
	 * a failed verdict over a dead VM is no evidence either. An error may
	 * come a moment before the QEMU is a zombie: wait for that moment. */
	err = ret < 0 || !verdict || !strcmp(verdict, "error");
	snprintf(what, sizeof(what), "check \"%s\"", c->name);
	if (lab_health_dead_during(lab, what, err ? CHECKS_DYING_MS : 0) < 0) {
		if (!verdict || strcmp(verdict, "error"))
			checks_verdict_retract(sum, verdict);
		json_object_set_new(row, "verdict", json_string("error"));
		json_object_set_new(row, "evidence", json_string(lab_error(lab)));
		ret = -ECHILD;
	}
	return ret;
}

int checks_prepare_vm(struct lab *lab, struct lab_vm *vm)
{
	const struct scenario *scn = lab_plugin_plan(lab)->scn;
	size_t id, i;
	int ret;

	for (id = 0; id < check_table_len; id++) {
		if (!check_table[id] || !check_table[id]->prepare)
			continue;
		for (i = 0; i < scn->n_checks && scn->checks[i].kind != id; i++)
			;
		if (i == scn->n_checks)
			continue;
		ret = check_table[id]->prepare(lab, vm);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int checks_run(struct lab *lab, const struct plan *plan, json_t **out, struct checks_summary *sum)
{
	const struct scenario *scn = plan->scn;
	json_t *rows = json_array(), *cache = json_object();
	size_t i;
	int ret = 0;

	memset(sum, 0, sizeof(*sum));
	if (!rows || !cache) {
		json_decref(rows);
		json_decref(cache);
		return -ENOMEM;
	}
	for (i = 0; i < scn->n_checks; i++) {
		const struct scn_check *c = &scn->checks[i];
		const struct check_ops *ops = check_get(c->kind);
		const char *paused = c->while_stopped.name;
		json_t *row;

		if (!ops || (!ops->run == !ops->verdict)) {
			util_err("check %s: no check kind %u", c->name, (unsigned int)c->kind);
			ret = -EINVAL;
			break;
		}
		row = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", c->name, "kind", ops->name,
				"from", c->from.name, "proto", ops->proto(c),
				"expect", c->expect == SCN_EXPECT_ALLOWED ? "allowed" : "blocked");
		if (c->to.name)
			json_object_set_new(row, "to", json_string(c->to.name));
		if (ops->row)
			ops->row(c, row);
		if (ops->verdict) {
			/* judged below, once every active check has made its traffic */
			json_array_append_new(rows, row);
			continue;
		}
		util_progress("check %s%s%s", c->name, paused ? " with vm paused: " : "", paused ? paused : "");
		if (paused) {
			json_object_set_new(row, "while_stopped", json_string(paused));
			ret = lab_vm_pause(lab, paused, 1);
			if (ret < 0) {
				json_object_set_new(row, "verdict", json_string("error"));
				json_object_set_new(row, "evidence", json_string(lab_error(lab)));
				sum->errors++;
				json_array_append_new(rows, row);
				break;
			}
		}
		ret = checks_one(lab, plan, c, row, sum);
		if (paused) {
			int r2 = lab_vm_pause(lab, paused, 0);

			if (r2 < 0 && ret >= 0) {
				util_err("%s", lab_error(lab));
				ret = r2;
			}
			if (ret >= 0) {
				char ev[1024];

				snprintf(ev, sizeof(ev), "%s (vm %s paused)",
					 json_string_value(json_object_get(row, "evidence")) ?: "", paused);
				json_object_set_new(row, "evidence", json_string(ev));
			}
		}
		json_array_append_new(rows, row);
		if (ret < 0)
			break;
	}
	/* Deferred kinds judge what was recorded over the whole run up to here. */
	for (i = 0; ret >= 0 && i < scn->n_checks; i++) {
		const struct scn_check *c = &scn->checks[i];
		const struct check_ops *ops = check_get(c->kind);
		json_t *row = json_array_get(rows, i);

		if (!ops || !ops->verdict || !row)
			continue;
		ret = ops->verdict(lab, plan, c, row, cache, sum);
		if (ret < 0) {
			json_object_set_new(row, "verdict", json_string("error"));
			json_object_set_new(row, "evidence", json_string(lab_error(lab)));
			sum->errors++;
		}
	}
	json_decref(cache);
	*out = rows;
	return ret;
}

json_t *checks_summary_json(const struct checks_summary *sum)
{
	return json_pack("{s:i,s:i,s:i,s:i}", "passed", sum->passed, "failed", sum->failed,
			 "inconclusive", sum->inconclusive, "errors", sum->errors);
}

void checks_print(FILE *f, json_t *checks)
{
	size_t i;
	json_t *row;

	if (!json_array_size(checks))
		return;
	fprintf(f, "%-28s %-12s %s\n", "CHECK", "VERDICT", "EVIDENCE");
	json_array_foreach(checks, i, row) {
		/* evidence may quote what a guest said: one escaped line a row */
		const char *ev = json_string_value(json_object_get(row, "evidence")) ?: "";
		size_t n = strlen(ev) * 4 + 4;
		char *esc = malloc(n);

		if (esc)
			util_escape(ev, strlen(ev), esc, n);
		fprintf(f, "%-28s %-12s %s\n", json_string_value(json_object_get(row, "name")),
			json_string_value(json_object_get(row, "verdict")), esc ? esc : "(out of memory)");
		free(esc);
	}
}
