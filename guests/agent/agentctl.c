/* SPDX-License-Identifier: MIT */
/* agentctl.c: talk to a VM's uvmlab-agent socket by hand (debugging aid). */
#include "lab/agent_client.h"
#include "proto/agent_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AGENTCTL_CONNECT_MS 10000
#define AGENTCTL_HELLO_MS 60000

static void agentctl_usage(FILE *f)
{
	fprintf(f,
		"usage: agentctl SOCKET hello\n"
		"       agentctl SOCKET exec [-t TIMEOUT_MS] [-i] -- ARGV...\n"
		"       agentctl SOCKET read PATH\n"
		"       agentctl SOCKET write PATH [MODE]   (data on stdin)\n"
		"       agentctl SOCKET poweroff\n"
		"exec -i sends agentctl's stdin to the command.\n"
		"exit: exec passes the command's status through; otherwise 0 ok,\n"
		"      2 bad usage, 3 the agent could not be reached or failed\n");
}

/* Slurp stdin for exec -i and write, bounded by the protocol limit. */
static int agentctl_stdin(uint8_t **data, size_t *len)
{
	size_t cap = 65536;
	uint8_t *p = malloc(cap), *np;
	ssize_t n;

	*len = 0;
	if (!p)
		return -ENOMEM;
	while ((n = read(0, p + *len, cap - *len)) > 0) {
		*len += (size_t)n;
		if (*len == cap) {
			if (cap >= AGENT_MAX_PAYLOAD) {
				free(p);
				return -E2BIG;
			}
			np = realloc(p, cap * 2);
			if (!np) {
				free(p);
				return -ENOMEM;
			}
			p = np;
			cap *= 2;
		}
	}
	*data = p;
	return n < 0 ? -errno : 0;
}

static int agentctl_exec(struct agent_conn *c, int argc, char **argv)
{
	struct agent_exec_result res;
	uint32_t timeout = 30000;
	uint8_t *in = NULL;
	size_t in_len = 0;
	char err[256];
	int i = 0, rc, use_stdin = 0;

	while (i < argc && strcmp(argv[i], "--") != 0) {
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			timeout = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "-i") == 0)
			use_stdin = 1;
		else
			break;
		i++;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		agentctl_usage(stderr);
		return 2;
	}
	if (use_stdin && (rc = agentctl_stdin(&in, &in_len)) < 0) {
		fprintf(stderr, "agentctl: stdin: %s\n", strerror(-rc));
		return 3;
	}
	rc = agent_conn_exec(c, (const char *const *)&argv[i], timeout, in, in_len, &res, err,
			     sizeof(err));
	free(in);
	if (rc < 0) {
		fprintf(stderr, "agentctl: exec %s: %s%s%s\n", argv[i], strerror(-rc),
			err[0] ? ": " : "", err);
		return 3;
	}
	fwrite(res.out, 1, res.out_len, stdout);
	fwrite(res.err, 1, res.err_len, stderr);
	if (res.timed_out)
		fprintf(stderr, "agentctl: timed out after %u ms\n", timeout);
	rc = res.status > 255 ? 255 : (int)res.status;
	agent_exec_result_release(&res);
	return rc;
}

int main(int argc, char **argv)
{
	struct agent_conn *c = NULL;
	struct agent_hello h;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc, ret = 3, i;

	if (argc < 3 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		agentctl_usage(argc < 3 ? stderr : stdout);
		return argc < 3 ? 2 : 0;
	}
	rc = agent_conn_open(argv[1], AGENTCTL_CONNECT_MS, &c);
	if (rc < 0) {
		fprintf(stderr, "agentctl: connect %s: %s\n", argv[1], strerror(-rc));
		return 3;
	}
	/* Every connection starts with HELLO, whatever the command. */
	rc = agent_conn_read_hello(c, AGENTCTL_HELLO_MS, &h);
	if (rc < 0) {
		fprintf(stderr, "agentctl: hello: %s\n", strerror(-rc));
		goto out;
	}
	if (strcmp(argv[2], "hello") == 0) {
		printf("version %u\nvm %s\nrole %s\nkernel %s\n", h.version, h.vm, h.role,
		       h.kernel);
		printf("boottime_init_ns %llu\nboottime_ready_ns %llu\n",
		       (unsigned long long)h.boottime_init_ns,
		       (unsigned long long)h.boottime_ready_ns);
		for (i = 0; i < 3; i++)
			printf("phase_ns[%d] %llu\n", i, (unsigned long long)h.phase_ns[i]);
		ret = 0;
	} else if (strcmp(argv[2], "exec") == 0) {
		ret = agentctl_exec(c, argc - 3, argv + 3);
	} else if (strcmp(argv[2], "read") == 0 && argc == 4) {
		rc = agent_conn_read_file(c, argv[3], 30000, &data, &len);
		if (rc < 0)
			fprintf(stderr, "agentctl: read %s: %s\n", argv[3], strerror(-rc));
		else
			ret = fwrite(data, 1, len, stdout) == len ? 0 : 3;
	} else if (strcmp(argv[2], "write") == 0 && (argc == 4 || argc == 5)) {
		rc = agentctl_stdin(&data, &len);
		if (rc == 0)
			rc = agent_conn_write_file(c, argv[3],
						   argc == 5 ? (uint32_t)strtoul(argv[4], NULL, 8)
							     : 0644,
						   data, len, 30000);
		if (rc < 0)
			fprintf(stderr, "agentctl: write %s: %s\n", argv[3], strerror(-rc));
		ret = rc < 0 ? 3 : 0;
	} else if (strcmp(argv[2], "poweroff") == 0) {
		rc = agent_conn_poweroff(c);
		if (rc < 0)
			fprintf(stderr, "agentctl: poweroff: %s\n", strerror(-rc));
		ret = rc < 0 ? 3 : 0;
	} else {
		agentctl_usage(stderr);
		ret = 2;
	}
out:
	free(data);
	agent_conn_close(c);
	return ret;
}
