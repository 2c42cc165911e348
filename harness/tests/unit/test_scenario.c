/* SPDX-License-Identifier: MIT */
/* test_scenario.c: scenario parser and validator against good and bad files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario_parse.c"
#include "checks/check_schemas.h"
#include "roles/role_schemas.h"

/* Tests run from the repository root (make's working directory). */
#define GOOD_DIR "fixtures/good-scenarios"
#define BAD_DIR  "fixtures/bad-scenarios"

static struct scenario *load_good(const char *path)
{
	struct scenario *scn = NULL;
	struct scn_diag diag;
	char line[1400];
	int rc;

	rc = scenario_load(path, &scn, &diag);
	if (rc) {
		scn_diag_format(&diag, line, sizeof(line));
		print_error("%s\n", line);
	}
	assert_int_equal(rc, 0);
	assert_non_null(scn);
	return scn;
}

/* Parse BUF, expect a scenario error, return the formatted diagnostic. */
static void parse_bad(const char *buf, size_t len, struct scn_diag *diag, char *line, size_t n)
{
	struct scenario *scn = (struct scenario *)0x1;

	assert_int_equal(scenario_parse("t.yaml", buf, len, &scn, diag), -EINVAL);
	assert_null(scn);
	scn_diag_format(diag, line, n);
}

static void assert_loc(struct scn_loc loc, uint32_t line, uint32_t col)
{
	assert_int_equal(loc.line, line);
	assert_int_equal(loc.col, col);
}

static void test_minimal(void **state)
{
	struct scenario *scn = load_good(GOOD_DIR "/minimal.yaml");

	(void)state;
	assert_string_equal(scn->path, GOOD_DIR "/minimal.yaml");
	assert_string_equal(scn->name, "minimal");
	assert_null(scn->description);
	assert_int_equal(scn->accel, SCN_ACCEL_AUTO);
	assert_int_equal(scn->machine, SCN_MACHINE_MICROVM);
	assert_int_equal(scn->boot_timeout_s, 0);
	assert_int_equal(scn->n_networks, 0);
	assert_int_equal(scn->n_checks, 0);
	assert_int_equal(scn->boot_repeat, 0);
	assert_int_equal(scn->n_vms, 1);
	assert_string_equal(scn->vms[0].name, "solo");
	assert_loc(scn->vms[0].loc, 4, 3);
	assert_int_equal(scn->vms[0].role, ROLE_APP);
	assert_int_equal(scn->vms[0].n_nics, 0);
	assert_int_equal(scn->vms[0].n_depends_on, 0);
	assert_int_equal(scn->vms[0].has_machine, 0);
	assert_int_equal(scn->vms[0].memory_mib, 0);
	assert_int_equal(scn->vms[0].vcpus, 0);
	scenario_free(scn);
}

static void test_full(void **state)
{
	struct scenario *scn = load_good(GOOD_DIR "/full.yaml");
	const struct scn_vm *gw, *web, *client;
	const struct scn_network *net;
	const struct scn_check *c;

	(void)state;
	assert_string_equal(scn->name, "full-house");
	assert_string_equal(scn->description,
			    "Every field: lab settings, three networks, three VMs, checks, measure");
	assert_int_equal(scn->accel, SCN_ACCEL_TCG);
	assert_int_equal(scn->machine, SCN_MACHINE_Q35);
	assert_int_equal(scn->boot_timeout_s, 300);
	assert_int_equal(scn->boot_repeat, 5);

	assert_int_equal(scn->n_networks, 3);
	net = scenario_find_network(scn, "lan");
	assert_ptr_equal(net, &scn->networks[0]);
	assert_int_equal(net->subnet, 0xc6120100u);
	assert_int_equal(net->prefix, 24);
	assert_loc(net->loc, 9, 3);
	assert_loc(net->subnet_loc, 9, 18);
	net = scenario_find_network(scn, "wan");
	assert_int_equal(net->subnet, 0xc6124000u);
	assert_int_equal(net->prefix, 18);
	assert_loc(net->subnet_loc, 11, 13);
	net = scenario_find_network(scn, "mgmt");
	assert_int_equal(net->subnet, 0xc613fffcu);
	assert_int_equal(net->prefix, 30);
	assert_null(scenario_find_network(scn, "nope"));

	assert_int_equal(scn->n_vms, 3);
	gw = scenario_find_vm(scn, "gw");
	web = scenario_find_vm(scn, "web");
	client = scenario_find_vm(scn, "client");
	assert_ptr_equal(gw, &scn->vms[0]);
	assert_ptr_equal(web, &scn->vms[1]);
	assert_ptr_equal(client, &scn->vms[2]);
	assert_null(scenario_find_vm(scn, "lan"));
	assert_loc(gw->loc, 14, 3);
	assert_int_equal(gw->role, ROLE_ROUTER);
	assert_int_equal(gw->n_nics, 2);
	assert_string_equal(gw->nics[0].name, "wan");
	assert_string_equal(gw->nics[1].name, "lan");
	assert_loc(gw->nics[0].loc, 16, 12);
	assert_loc(gw->nics[1].loc, 16, 17);
	assert_int_equal(gw->has_machine, 1);
	assert_int_equal(gw->machine, SCN_MACHINE_MICROVM);
	assert_int_equal(gw->memory_mib, 512);
	assert_int_equal(gw->vcpus, 2);

	assert_int_equal(web->role, ROLE_APP);
	assert_int_equal(web->n_nics, 2);
	assert_string_equal(web->nics[1].name, "mgmt");
	assert_loc(web->nics[1].loc, 24, 9);
	assert_int_equal(web->n_depends_on, 1);
	assert_string_equal(web->depends_on[0].name, "gw");
	assert_int_equal(web->has_machine, 0);
	assert_int_equal(web->memory_mib, 0);

	assert_int_equal(client->n_depends_on, 2);
	assert_string_equal(client->depends_on[1].name, "web");
	assert_loc(client->depends_on[1].loc, 27, 43);
	assert_int_equal(client->vcpus, 16);
	assert_int_equal(client->memory_mib, 16384);

	assert_int_equal(scn->n_checks, 3);
	c = &scn->checks[0];
	assert_string_equal(c->name, "client-to-web");
	assert_loc(c->loc, 29, 5);
	assert_string_equal(c->from.name, "client");
	assert_string_equal(c->to.name, "web");
	assert_loc(c->to.loc, 30, 32);
	assert_int_equal(c->proto, SCN_PROTO_TCP);
	assert_int_equal(c->port, 80);
	assert_string_equal(c->network.name, "lan");
	assert_int_equal(c->expect, SCN_EXPECT_ALLOWED);
	c = &scn->checks[1];
	assert_string_equal(c->name, "reach-client-web");
	assert_int_equal(c->proto, SCN_PROTO_ICMP);
	assert_int_equal(c->port, 0);
	assert_string_equal(c->network.name, "mgmt");
	assert_int_equal(c->expect, SCN_EXPECT_BLOCKED);
	c = &scn->checks[2];
	assert_string_equal(c->name, "reach-web-gw");
	assert_loc(c->loc, 34, 5);
	assert_null(c->network.name);
	assert_int_equal(c->network.loc.line, 0);
	scenario_free(scn);
}

static void test_routed_like(void **state)
{
	struct scenario *scn = load_good(GOOD_DIR "/routed-like.yaml");
	const struct scn_vm *router;

	(void)state;
	assert_string_equal(scn->name, "routed");
	assert_int_equal(scn->accel, SCN_ACCEL_AUTO);
	assert_int_equal(scn->boot_timeout_s, 120);
	assert_int_equal(scn->boot_repeat, 3);
	assert_int_equal(scn->n_networks, 2);
	assert_string_equal(scn->networks[1].name, "right");
	assert_int_equal(scn->networks[1].subnet, 0xc6121400u);
	router = scenario_find_vm(scn, "router");
	assert_non_null(router);
	assert_int_equal(router->role, ROLE_ROUTER);
	assert_int_equal(router->memory_mib, 128);
	assert_int_equal(scenario_find_vm(scn, "bob")->n_depends_on, 1);
	assert_int_equal(scn->n_checks, 4);
	assert_string_equal(scn->checks[0].name, "alice-to-bob");
	assert_string_equal(scn->checks[1].name, "reach-bob-alice");
	assert_int_equal(scn->checks[1].port, 22);
	assert_false(check_is_probe(&scn->checks[1]));
	/* guest probe checks: the vm sits in from, a default name is generated */
	assert_int_equal(scn->checks[2].kind, CHECK_FORWARDING);
	assert_true(check_is_probe(&scn->checks[2]));
	assert_string_equal(scn->checks[2].name, "forwarding-router");
	assert_string_equal(scn->checks[2].from.name, "router");
	assert_int_equal(scn->checks[2].expect, SCN_EXPECT_ALLOWED);
	assert_int_equal(scn->checks[3].kind, CHECK_ATTRIBUTION);
	assert_string_equal(scn->checks[3].name, "router-own-traffic");
	assert_string_equal(scn->checks[3].network.name, "right");
	assert_int_equal(scn->checks[3].n_users, 2);
	assert_string_equal(scn->checks[3].users[1], "_apt");
	assert_int_equal(scn->checks[3].n_procs, 1);
	assert_string_equal(scn->checks[3].procs[0], "ping");
	/* silence is inconclusive unless the check accepts it */
	assert_false(scn->checks[2].allow_empty);
	assert_true(scn->checks[3].allow_empty);
	scenario_free(scn);
}

static int read_expect(const char *path, uint32_t *line, uint32_t *col, char *sub, size_t n)
{
	char first[512];
	int off = 0;
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fgets(first, sizeof(first), f) != NULL &&
	     sscanf(first, "# expect-error: %" SCNu32 ":%" SCNu32 ": %n", line, col, &off) == 2 &&
	     off > 0;
	fclose(f);
	if (!ok)
		return -EINVAL;
	first[strcspn(first, "\n")] = '\0';
	snprintf(sub, n, "%s", first + off);
	return sub[0] ? 0 : -EINVAL;
}

/* Every bad fixture fails at exactly the position its first line promises;
 * the cycle-* files are valid for the parser (plan_build() rejects them). */
static void test_bad_fixtures(void **state)
{
	DIR *d = opendir(BAD_DIR);
	struct dirent *de;
	size_t n_bad = 0, n_cycle = 0, failures = 0;

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[512], sub[400], line[1400];
		struct scenario *scn = NULL;
		struct scn_diag diag;
		uint32_t eline = 0, ecol = 0;
		size_t l = strlen(de->d_name);
		int rc;

		if (l < 6 || strcmp(de->d_name + l - 5, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", BAD_DIR, de->d_name);
		if (read_expect(path, &eline, &ecol, sub, sizeof(sub))) {
			print_error("%s: no usable '# expect-error: L:C: TEXT' first line\n", path);
			failures++;
			continue;
		}
		rc = scenario_load(path, &scn, &diag);
		if (!strncmp(de->d_name, "cycle-", 6)) {
			n_cycle++;
			if (rc != 0) {
				scn_diag_format(&diag, line, sizeof(line));
				print_error("%s: must parse (cycles are plan's job): %s\n", path, line);
				failures++;
			}
			scenario_free(scn);
			continue;
		}
		n_bad++;
		scn_diag_format(&diag, line, sizeof(line));
		if (rc != -EINVAL || scn || diag.loc.line != eline || diag.loc.col != ecol ||
		    !strstr(line, sub) || strcmp(diag.file, path) || strchr(line, '\n')) {
			print_error("%s: want %u:%u \"%s\", got rc %d: %s\n", path, eline, ecol, sub,
				    rc, line);
			failures++;
		}
		scenario_free(scn);
	}
	closedir(d);
	assert_int_equal(failures, 0);
	assert_true(n_bad >= 18);
	assert_true(n_cycle >= 1);
}

static void test_hint_and_format(void **state)
{
	static const char buf[] = "name: wsl\nvms: { a: {} }\nnetwroks: {}\n";
	struct scn_diag diag;
	char line[1400];

	(void)state;
	parse_bad(buf, strlen(buf), &diag, line, sizeof(line));
	assert_string_equal(line, "t.yaml:3:1: unknown key \"netwroks\" in scenario "
			    "(hint: did you mean \"networks\"?)");
	assert_string_equal(diag.hint, "did you mean \"networks\"?");

	/* Too far from every key: no hint at all. */
	parse_bad("name: x\nvms: {a: }\nzzz: 1\n", 24, &diag, line, sizeof(line));
	assert_string_equal(diag.hint, "");
	assert_string_equal(line, "t.yaml:3:1: unknown key \"zzz\" in scenario");
}

static void test_diag_format(void **state)
{
	struct scn_diag diag;
	char line[64];

	(void)state;
	memset(&diag, 0, sizeof(diag));
	snprintf(diag.file, sizeof(diag.file), "s.yaml");
	assert_int_equal(scn_diag_set(&diag, (struct scn_loc){ 0, 0 }, "cannot read: %s", "EIO"),
			 -EINVAL);
	scn_diag_format(&diag, line, sizeof(line));
	assert_string_equal(line, "s.yaml: cannot read: EIO");

	snprintf(diag.hint, sizeof(diag.hint), "stale");
	scn_diag_set(&diag, (struct scn_loc){ 12, 7 }, "bad %d", 42);
	assert_string_equal(diag.hint, "");     /* a new message drops the old hint */
	scn_diag_format(&diag, line, sizeof(line));
	assert_string_equal(line, "s.yaml:12:7: bad 42");
	snprintf(diag.hint, sizeof(diag.hint), "try this");
	scn_diag_format(&diag, line, sizeof(line));
	assert_string_equal(line, "s.yaml:12:7: bad 42 (hint: try this)");

	scn_diag_format(&diag, line, 8);        /* truncates, stays terminated */
	assert_string_equal(line, "s.yaml:");
	scn_diag_format(NULL, line, sizeof(line));
	assert_string_equal(line, "");
	scn_diag_format(&diag, NULL, 0);
	assert_int_equal(scn_diag_set(NULL, (struct scn_loc){ 1, 1 }, "x"), -EINVAL);
}

static void test_free_null_and_names(void **state)
{
	(void)state;
	scenario_free(NULL);
	assert_null(scenario_find_vm(NULL, "a"));
	assert_null(scenario_find_network(NULL, "a"));
	assert_string_equal(scn_machine_name(SCN_MACHINE_MICROVM), "microvm");
	assert_string_equal(scn_machine_name(SCN_MACHINE_Q35), "q35");
	assert_string_equal(scn_machine_name(SCN_MACHINE_PC), "pc");
	assert_string_equal(scn_machine_name((enum scn_machine)99), "?");
	assert_string_equal(scn_accel_name(SCN_ACCEL_AUTO), "auto");
	assert_string_equal(scn_accel_name(SCN_ACCEL_KVM), "kvm");
	assert_string_equal(scn_accel_name(SCN_ACCEL_TCG), "tcg");
	assert_string_equal(scn_role_name(ROLE_APP), "app");
	assert_string_equal(scn_role_name(ROLE_ROUTER), "router");
}

static void test_sha256_and_nulls(void **state)
{
	static const char buf[] = "name: x\nvms:\n  a:\n";
	static const uint8_t want[32] = {
		0x6d, 0xcf, 0xac, 0x2e, 0x7e, 0xc8, 0xe9, 0x05, 0x89, 0x4a, 0x1a, 0x4d,
		0x69, 0xa2, 0xf9, 0xd7, 0xfd, 0xb4, 0xe0, 0x2a, 0x77, 0x77, 0x16, 0xe9,
		0xa1, 0x96, 0x76, 0x2a, 0x26, 0x46, 0xf0, 0x81,
	};
	struct scenario *scn = NULL;

	(void)state;
	/* A NULL diag is allowed: callers that only want yes/no. */
	assert_int_equal(scenario_parse("x", buf, strlen(buf), &scn, NULL), 0);
	assert_memory_equal(scn->sha256, want, sizeof(want));
	scenario_free(scn);
}

static void test_io_error(void **state)
{
	struct scenario *scn = (struct scenario *)0x1;
	struct scn_diag diag;
	char line[1400];

	(void)state;
	assert_int_equal(scenario_load(BAD_DIR "/does-not-exist.yaml", &scn, &diag), -ENOENT);
	assert_null(scn);
	assert_int_equal(diag.loc.line, 0);
	scn_diag_format(&diag, line, sizeof(line));
	assert_string_equal(line, BAD_DIR "/does-not-exist.yaml: cannot read scenario: "
			    "No such file or directory");
}

/* lab.limits: the pure size and CPU parsers, and the model they fill. */
static void test_run_limits(void **state)
{
	static const struct { const char *in; uint64_t bytes; const char *why; } sizes[] = {
		{ "16M", 16ull << 20, NULL }, { "4G", 4ull << 30, NULL }, { "1T", 1ull << 40, NULL },
		{ "65536K", 64ull << 20, NULL }, { "4", 0, "no unit" }, { "4GB", 0, "unit" },
		{ "4g", 0, "unit" }, { "4 G", 0, "unit" }, { "-1G", 0, "negative" },
		{ "G", 0, "number" }, { "", 0, "number" }, { "15M", 0, "range" },
		{ "2T", 0, "range" }, { "99999999999999999999999G", 0, "range" },
	};
	static const struct { const char *in; uint32_t milli; const char *why; } cpus[] = {
		{ "1", 1000, NULL }, { "1.5", 1500, NULL }, { "0.01", 10, NULL }, { ".5", 500, NULL },
		{ "1024", 1024000, NULL }, { "0.009", 0, "range" }, { "0", 0, "range" },
		{ "1025", 0, "range" }, { "-1", 0, "negative" }, { "1.2345", 0, "number" },
		{ "1,5", 0, "number" }, { "1.5.1", 0, "number" }, { ".", 0, "number" },
		{ "99999999999999", 0, "range" },
	};
	const char *ok = "name: x\nlab:\n  limits: { memory: 512M, pids: 64, cpus: 0.5 }\nvms: {a: }\n";
	struct scenario *scn = NULL;
	struct scn_diag diag;
	const char *why;
	uint64_t b;
	uint32_t m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int rc = scenario_parse_size(sizes[i].in, strlen(sizes[i].in), &b, &why);

		if (sizes[i].why) {
			assert_int_equal(rc, -EINVAL);
			assert_string_equal(why, sizes[i].why);
		} else {
			assert_int_equal(rc, 0);
			assert_true(b == sizes[i].bytes);
		}
	}
	for (i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		int rc = scenario_parse_cpus(cpus[i].in, strlen(cpus[i].in), &m, &why);

		if (cpus[i].why) {
			assert_int_equal(rc, -EINVAL);
			assert_string_equal(why, cpus[i].why);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(m, cpus[i].milli);
		}
	}
	assert_int_equal(scenario_parse("t.yaml", ok, strlen(ok), &scn, &diag), 0);
	assert_true(scn->limits.has_memory && scn->limits.has_pids && scn->limits.has_cpus);
	assert_true(scn->limits.memory_bytes == 512ull << 20);
	assert_int_equal(scn->limits.pids, 64);
	assert_int_equal(scn->limits.cpus_milli, 500);
	scenario_free(scn);
	scn = NULL;
	/* absent: nothing set */
	assert_int_equal(scenario_parse("t.yaml", "name: x\nvms: {a: }\n", 19, &scn, &diag), 0);
	assert_false(scn->limits.has_memory || scn->limits.has_pids || scn->limits.has_cpus);
	scenario_free(scn);
}

/* One-line inputs the fixture files cannot express well. */
static void test_inline_errors(void **state)
{
	static const struct {
		const char *yaml;
		uint32_t line, col;
		const char *sub;
	} cases[] = {
		{ "", 1, 1, "empty scenario file" },
		{ "---\n", 2, 1, "found null" },
		{ "name: x\nvms: {a: }\n...\n---\n", 4, 1, "second YAML document" },
		{ "name: !!str x\nvms: {a: }\n", 1, 7, "tags are not supported" },
		{ "name: x\nvms: {a: {memory: \"256\"}}\n", 2, 19, "expected an integer, found a string" },
		{ "name: x\nvms: {a: {memory: -5}}\n", 2, 19, "-5 is out of range" },
		{ "name: x\nvms: {a: {vcpus: 99999999999999}}\n", 2, 18, "out of range (1..16)" },
		{ "name: x\nvms: {a: {vcpus: 0}}\n", 2, 18, "0 is out of range" },
		{ "name: x\nvms: {a: {nics: [[lan]]}}\n", 2, 18, "nics entry 1: expected a network name" },
		{ "name: x\nvms: {a: {nics: [a,b,c,d,e,f,g,h,i]}}\n", 2, 34, "more than 8 entries" },
		{ "name: x\nvms: {}\n", 2, 1, "at least one vm" },
		{ "name: x\n", 1, 1, "missing required key \"vms\"" },
		{ "name: Big\nvms: {a: }\n", 1, 7, "invalid name \"Big\"" },
		{ "name: x\nvms: {a: }\n[1]: 2\n", 3, 1, "expected a key name, found a sequence" },
		{ "name: x\nvms: {a: }\n\"ne\\nt\": 1\n", 3, 1, "unknown key \"ne\\x0at\"" },
		{ "name: x\ndescription: \"a\\0b\"\nvms: {a: }\n", 2, 14, "NUL character" },
		{ "name: x\nvms: {a: }\n\xff: 1\n", 3, 1, "invalid leading UTF-8 octet" },
		{ "name: x\nvms: {ab: {nics: [n]}, b: {nics: [n]}}\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "checks: [{reach: {from: ab, to: ab}, expect: allowed}]\n", 4, 33, "same vm" },
		{ "name: x\nvms: {a: {nics: [n]}, b: }\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "checks: [{reach: {from: a, to: b}, expect: allowed}]\n", 4, 32, "has no nics to probe" },
		{ "name: x\nvms: {a: {nics: [n]}, b: {nics: [n]}}\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "checks: [{reach: {from: a, to: b}, expect: allowed},\n"
		  "  {reach: {from: a, to: b, proto: tcp, port: 1}, expect: allowed}]\n",
		  5, 3, "duplicate check name \"reach-a-b\"" },
		{ "name: x\nvms: {a: }\nchecks: [{reach: {to: a}, expect: allowed}]\n", 3, 11,
		  "missing required key \"from\"" },
		{ "name: x\nvms: {a: }\nchecks: [{expect: allowed}]\n", 3, 10, "missing required key \"reach\"" },
		{ "name: x\nvms: {a: }\nnetworks: {n: {subnet: 198.18.01.0/24}}\n", 3, 24, "not an IPv4" },
		{ "name: x\nvms: {a: }\nnetworks: {n: {subnet: 198.18.1.0/024}}\n", 3, 24, "not an IPv4" },
		{ "name: x\nvms: {a: }\nnetworks: {n: {subnet: 198.18.1.0}}\n", 3, 24, "not an IPv4" },
		{ "name: x\nvms: {a: }\nnetworks: {n: {subnet: 198.18.256.0/24}}\n", 3, 24, "not an IPv4" },
		{ "name: x\nvms: {a: }\nnetworks: {n: {subnet: 198.20.0.0/16}}\n", 3, 24, "outside the lab" },
		{ "name: x\nvms: {a: }\nnetworks: {n: {subnet: 198.18.0.0/8}}\n", 3, 24, "prefix /8" },
		{ "name: x\nvms: {a: }\nmeasure: {boot: {repeat: 0}}\n", 3, 26, "out of range (1..1000)" },
		{ "name: x\nvms: {a: }\nmeasure: {bot: }\n", 3, 11, "did you mean \"boot\"" },
		/* filter: */
		{ "name: x\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "vms: {r: {role: router, nics: [n], filter: {rules: [{to: n}]}}}\n", 3, 53,
		  "missing required key \"action\" in vm \"r\" filter rule #1" },
		{ "name: x\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "vms: {r: {role: router, nics: [n], filter: {rules: [{from: r, action: drop}]}}}\n", 3, 60,
		  "from: the router itself" },
		{ "name: x\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "vms: {r: {role: router, nics: [n], filter: {rules: [{to: n, action: drop}]}}, n: }\n", 3, 58,
		  "\"n\" names both a vm and a network" },
		{ "name: x\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "vms: {r: {role: router, nics: [n], filter: {rules: [{to: z, action: drop}]}}, z: }\n", 3, 58,
		  "vm \"z\" has no nics" },
		{ "name: x\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "vms: {r: {role: router, nics: [n], filter: {rules: {to: n}}}}\n", 3, 52,
		  "filter: rules: expected a sequence, found a mapping" },
		{ "name: x\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "vms: {r: {role: router, nics: [n], filter: [drop]}}\n", 3, 44,
		  "vm \"r\": filter: expected a mapping" },
		{ "name: x\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "vms: {r: {role: router, nics: [n], filter: {rule: []}}}\n", 3, 45,
		  "did you mean \"rules\"" },
		{ "name: x\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "vms: {r: {role: router, nics: [n], filter: {rules: [{proto: tcp, port: 0, action: drop}]}}}\n",
		  3, 72, "port: 0 is out of range (1..65535)" },
		{ "name: x\nnetworks: {n: {subnet: 198.18.0.0/24}}\n"
		  "vms: {r: {role: tor-gateway, nics: [n], filter: }}\n", 3, 41,
		  "filter: only for role router" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scenario *scn = NULL;
		struct scn_diag diag;
		char line[1400];
		int rc;

		rc = scenario_parse("t.yaml", cases[i].yaml, strlen(cases[i].yaml), &scn, &diag);
		scn_diag_format(&diag, line, sizeof(line));
		if (rc != -EINVAL || diag.loc.line != cases[i].line || diag.loc.col != cases[i].col ||
		    !strstr(line, cases[i].sub))
			print_error("case %zu: want %u:%u \"%s\", got rc %d: %s\n", i,
				    cases[i].line, cases[i].col, cases[i].sub, rc, line);
		assert_int_equal(rc, -EINVAL);
		assert_null(scn);
		assert_int_equal(diag.loc.line, cases[i].line);
		assert_int_equal(diag.loc.col, cases[i].col);
		assert_non_null(strstr(line, cases[i].sub));
	}
}

/* The filter model: defaults, order, positions. */
static void test_filter_model(void **state)
{
	static const char yaml[] =
		"name: seg\n"
		"networks: {left: {subnet: 198.18.20.0/24}, right: {subnet: 198.18.21.0/24}}\n"
		"vms:\n"
		"  r:\n"
		"    filter:\n"
		"      default: drop\n"
		"      rules:\n"
		"        - { from: a, to: right, proto: tcp, port: 443, action: accept }\n"
		"        - { action: drop }\n"
		"    role: router\n"
		"    nics: [left, right]\n"
		"  a: { nics: [left] }\n"
		"  b: { role: router, nics: [left], filter: }\n";
	const struct scn_filter_rule *r;
	struct scenario *scn = NULL;
	struct scn_diag diag;

	(void)state;
	assert_int_equal(scenario_parse("t.yaml", yaml, strlen(yaml), &scn, &diag), 0);
	assert_true(scn->vms[0].has_filter);
	assert_loc(scn->vms[0].filter.loc, 5, 5);
	assert_int_equal(scn->vms[0].filter.dflt, SCN_FILTER_DROP);
	assert_int_equal(scn->vms[0].filter.n_rules, 2);
	r = &scn->vms[0].filter.rules[0];
	assert_loc(r->loc, 8, 11);
	assert_string_equal(r->from.name, "a");
	assert_loc(r->from.loc, 8, 19);
	assert_string_equal(r->to.name, "right");
	assert_int_equal(r->proto, SCN_PROTO_TCP);
	assert_int_equal(r->port, 443);
	assert_int_equal(r->action, SCN_FILTER_ACCEPT);
	r = &scn->vms[0].filter.rules[1];
	assert_null(r->from.name);
	assert_null(r->to.name);
	assert_int_equal(r->proto, SCN_PROTO_ANY);
	assert_int_equal(r->port, 0);
	assert_int_equal(r->action, SCN_FILTER_DROP);
	assert_false(scn->vms[1].has_filter);
	/* an empty filter: accept everything, but it is there */
	assert_true(scn->vms[2].has_filter);
	assert_int_equal(scn->vms[2].filter.dflt, SCN_FILTER_ACCEPT);
	assert_int_equal(scn->vms[2].filter.n_rules, 0);
	assert_string_equal(scn_filter_action_name(SCN_FILTER_DROP), "drop");
	assert_string_equal(scn_proto_name(SCN_PROTO_UDP), "udp");
	scenario_free(scn);
}

static void test_nul_in_description(void **state)
{
	/* A raw NUL byte is a control character for libyaml. */
	static const char buf[] = "name: x\nvms: {a: }\ndescription: a\0b\n";
	struct scn_diag diag;
	char line[1400];

	(void)state;
	parse_bad(buf, sizeof(buf) - 1, &diag, line, sizeof(line));
	assert_loc(diag.loc, 3, 15);
	assert_non_null(strstr(line, "control characters"));
}

static void test_limits(void **state)
{
	size_t cap = 2u * 1024 * 1024;
	char *buf = malloc(cap);
	struct scn_diag diag;
	char line[1400];
	size_t n, i;

	(void)state;
	assert_non_null(buf);
	/* 65 VMs: the 65th name is where the limit bites. */
	n = (size_t)snprintf(buf, cap, "name: x\nvms:\n");
	for (i = 0; i < 65; i++)
		n += (size_t)snprintf(buf + n, cap - n, "  v%zu:\n", i);
	parse_bad(buf, n, &diag, line, sizeof(line));
	assert_loc(diag.loc, 67, 3);
	assert_non_null(strstr(line, "too many vms (max 64)"));

	/* Nesting: refused where it gets too deep, long before any stack runs out. */
	n = (size_t)snprintf(buf, cap, "name: x\nvms: {a: }\ndescription: ");
	for (i = 0; i < 100000; i++)
		buf[n++] = '[';
	parse_bad(buf, n, &diag, line, sizeof(line));
	assert_loc(diag.loc, 3, 14 + SCN_MAX_DEPTH - 1);
	assert_non_null(strstr(line, "nested more than"));

	/* Just over 1 MiB: refused before parsing, without a position. */
	memset(buf, '#', SCN_MAX_FILE_BYTES + 1);
	parse_bad(buf, SCN_MAX_FILE_BYTES + 1, &diag, line, sizeof(line));
	assert_int_equal(diag.loc.line, 0);
	assert_non_null(strstr(line, "larger than"));

	/* Many nodes in a flat sequence. */
	n = (size_t)snprintf(buf, cap, "name: x\nvms: {a: }\ndescription: [");
	for (i = 0; i < SCN_MAX_NODES + 1; i++) {
		buf[n++] = '1';
		buf[n++] = ',';
	}
	buf[n++] = ']';
	parse_bad(buf, n, &diag, line, sizeof(line));
	assert_non_null(strstr(line, "too many YAML nodes"));
	free(buf);
}

static void test_distance_and_quote(void **state)
{
	char q[32];

	(void)state;
	assert_int_equal(scn_diag_distance("", ""), 0);
	assert_int_equal(scn_diag_distance("memory", "memory"), 0);
	assert_int_equal(scn_diag_distance("memroy", "memory"), 2);
	assert_int_equal(scn_diag_distance("vm", "vms"), 1);
	assert_int_equal(scn_diag_distance("kitten", "sitting"), 3);
	assert_int_equal(scn_diag_distance("", "abc"), 3);

	scn_diag_quote("a\"b\\c\nd", 7, q, sizeof(q));
	assert_string_equal(q, "\"a\\\"b\\\\c\\x0ad\"");
	scn_diag_quote("0123456789012345678901234567890123456789", 40, q, sizeof(q));
	assert_true(strlen(q) < sizeof(q));
	assert_non_null(strstr(q, "...\""));
}

/* lab.console_log_max: bytes or K/M/G (1024-based), 4K..1G, default 0. */
static void test_console_log_max(void **state)
{
	static const struct { const char *v; uint32_t want; } ok[] = {
		{ "4096", 4096 }, { "64K", 65536 }, { "8M", 8u << 20 }, { "1G", 1u << 30 },
		{ "0008K", 8192 },
	};
	static const char *const bad[] = { "1K", "4095", "2G", "8MB", "8k", "M", "-4K", "4 K",
					   "99999999999999999999G", "4294967296", "[1]", "~" };
	struct scenario *scn = NULL;
	struct scn_diag diag;
	char buf[200], line[1400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "name: x\nlab: { console_log_max: %s }\nvms: { a: }\n",
				 ok[i].v);

		assert_int_equal(scenario_parse("t.yaml", buf, (size_t)n, &scn, &diag), 0);
		assert_int_equal(scn->console_log_max, ok[i].want);
		scenario_free(scn);
		scn = NULL;
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "name: x\nlab: { console_log_max: %s }\nvms: { a: }\n",
				 bad[i]);

		parse_bad(buf, (size_t)n, &diag, line, sizeof(line));
		assert_non_null(strstr(line, "t.yaml:2:25: lab: console_log_max: "));
	}
	assert_int_equal(scenario_parse("t.yaml", "name: x\nvms: { a: }\n", 20, &scn, &diag), 0);
	assert_int_equal(scn->console_log_max, 0);
	scenario_free(scn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_routed_like),
		cmocka_unit_test(test_bad_fixtures),
		cmocka_unit_test(test_hint_and_format),
		cmocka_unit_test(test_diag_format),
		cmocka_unit_test(test_free_null_and_names),
		cmocka_unit_test(test_sha256_and_nulls),
		cmocka_unit_test(test_io_error),
		cmocka_unit_test(test_inline_errors),
		cmocka_unit_test(test_filter_model),
		cmocka_unit_test(test_nul_in_description),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_run_limits),
		cmocka_unit_test(test_distance_and_quote),
		cmocka_unit_test(test_console_log_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
