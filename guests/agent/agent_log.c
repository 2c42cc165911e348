/* SPDX-License-Identifier: MIT */
/* agent_log.c: console messages and the guest clock for uvmlab-agent. */
#include "agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

void agent_log_msg(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n, m;

	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "uvmlab-agent: ");
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line so messages are not interleaved with the kernel's. */
	if (write(fd, line, (size_t)n) < 0)
		return;
}

uint64_t agent_log_boottime_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
