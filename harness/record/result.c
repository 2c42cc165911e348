/* SPDX-License-Identifier: MIT */
/* result.c: results/<run-id>/result.json, schema "uvmlab.result/1". */
#include "record/result.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "version.h"

const char *result_version(void) { return UVMLAB_VERSION; }
const char *result_git_commit(void) { return UVMLAB_GIT_COMMIT; }

json_t *result_new(const char *run_id, const char *started_at, const struct scenario *scn)
{
	char sha[65];

	util_hex(scn->sha256, 32, sha);
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s},s:[],s:[]}",
		"schema", RESULT_SCHEMA, "run_id", run_id, "started_at", started_at,
		"uvmlab", "version", UVMLAB_VERSION, "git_commit", UVMLAB_GIT_COMMIT,
		"scenario", "name", scn->name, "path", scn->path, "sha256", sha,
		"checks", "metrics");
}

void result_finish(json_t *res, int exit_code, const char *error)
{
	static const char *const verdicts[] = { "pass", "fail", "bad-scenario", "lab-error" };
	char now[32];
	struct tm tm;
	time_t t = time(NULL);

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(res, "finished_at", json_string(now));
	json_object_set_new(res, "exit_code", json_integer(exit_code));
	json_object_set_new(res, "verdict", json_string(exit_code >= 0 && exit_code <= 3 ?
							  verdicts[exit_code] : "lab-error"));
	if (error)
		json_object_set_new(res, "error", json_string(error));
}

int result_write(const char *dir, json_t *res)
{
	char path[1200];
	char *s;
	int ret;

	if (snprintf(path, sizeof(path), "%s/result.json", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	s = json_dumps(res, JSON_INDENT(2));
	if (!s)
		return -ENOMEM;
	ret = util_write_file(path, s, strlen(s));
	free(s);
	return ret;
}
