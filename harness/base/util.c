/* SPDX-License-Identifier: MIT */
/* util.c: small helpers shared by the orchestrator: clocks, files, sockets, logging. */
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

uint64_t util_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int util_progress_enabled(void)
{
	const char *e = getenv("UVMLAB_PROGRESS");

	if (e && *e)
		return strcmp(e, "0") != 0;
	return isatty(STDERR_FILENO);
}

/* Length of the valid UTF-8 sequence at S (N bytes left) that is neither a
 * C1 control nor a surrogate nor overlong; 0 when there is none. */
static size_t util_utf8_len(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < 0xa0 || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int util_escape(const char *s, size_t len, char *out, size_t out_len)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0, o = 0, n, k, starts[4] = { 0 }; /* where the last pieces began */
	char tmp[5];

	if (out_len == 0)
		return -ENOSPC;
	while (i < len) {
		uint8_t c = u[i];
		const char *piece = tmp;

		n = 1;
		if (c == '\n' || c == '\r' || c == '\t') {
			tmp[0] = '\\';
			tmp[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			n = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
		} else if (c >= 0x80 && (n = util_utf8_len(u + i, len - i)) > 0) {
			piece = s + i;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			n = 4;
		}
		if (o + n >= out_len) {
			/* "..." replaces whole pieces, never half an escape; pieces
			 * are at most 4 bytes, so the last 4 starts are enough */
			for (k = 0; k < 4 && o + 4 > out_len && o > 0; k++)
				o = starts[k];
			if (o + 4 <= out_len) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			out[o] = '\0';
			return -ENOSPC;
		}
		memmove(starts + 1, starts, sizeof(starts) - sizeof(starts[0]));
		starts[0] = o;
		memcpy(out + o, piece, n);
		o += n;
		i += piece == tmp ? 1 : n;
	}
	out[o] = '\0';
	return 0;
}

/* One message line on stderr, escaped (see util.h). */
static void util_vmsg(const char *fmt, va_list ap)
{
	char raw[4096], esc[8192];
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);

	if (n < 0)
		n = 0;
	util_escape(raw, (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1, esc, sizeof(esc));
	fprintf(stderr, "uvmlab: %s\n", esc);
}

void util_progress(const char *fmt, ...)
{
	va_list ap;

	if (!util_progress_enabled())
		return;
	va_start(ap, fmt);
	util_vmsg(fmt, ap);
	va_end(ap);
}

void util_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_vmsg(fmt, ap);
	va_end(ap);
}

int util_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);

	if (len == 0)
		return -ENAMETOOLONG;
	if (n >= len) {
		memcpy(dst, src, len - 1);
		dst[len - 1] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int util_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	char *p;

	if (util_strlcpy(buf, path, sizeof(buf)) < 0)
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int util_mkdir_new(const char *path, mode_t mode)
{
	char parent[4096];
	char *slash;
	int ret;

	if (util_strlcpy(parent, path, sizeof(parent)) < 0)
		return -ENAMETOOLONG;
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		ret = util_mkdir_p(parent, 0755);
		if (ret < 0)
			return ret;
	}
	return mkdir(path, mode) < 0 ? -errno : 0;
}

int util_open_new(const char *path, int append)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		      (append ? O_APPEND : O_EXCL), 0644);

	return fd < 0 ? -errno : fd;
}

static int util_rm_at(int parent, const char *name)
{
	struct stat st;
	int fd, ret = 0;
	DIR *d;
	struct dirent *de;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = util_rm_at(dirfd(d), de->d_name);
		if (r < 0 && !ret)
			ret = r;
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !ret)
		ret = -errno;
	return ret;
}

int util_rm_rf(const char *path)
{
	return util_rm_at(AT_FDCWD, path);
}

int util_read_file(const char *path, size_t max, char **buf, size_t *len)
{
	int fd, ret = 0;
	size_t cap = 4096, n = 0;
	char *b = NULL;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	b = malloc(cap + 1);
	if (!b) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		if (n == cap) {
			char *nb;

			if (cap >= max) {
				ret = -EFBIG;
				goto cleanup;
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(b, cap + 1);
			if (!nb) {
				ret = -ENOMEM;
				goto cleanup;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	b = NULL;
	if (len)
		*len = n;
cleanup:
	free(b);
	close(fd);
	return ret;
}

int util_write_file(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	const char *p = data;
	int fd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp); /* our own leftover, or something planted: never written through */
	fd = util_open_new(tmp, 0);
	if (fd < 0)
		return fd;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

void util_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int util_sha256_file(const char *path, char hex[65])
{
	uint8_t md[32], buf[65536];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	int fd, ret = 0;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = -ENOMEM;
		goto cleanup;
	}
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto cleanup;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)r);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	util_hex(md, 32, hex);
cleanup:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return ret;
}

int util_set_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -errno;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl) < 0 ? -errno : 0;
}

int util_unix_listen(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (util_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

int util_unix_accept(int lfd, int *out)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

uint64_t util_host_tsc_khz(void)
{
	uint64_t t0, t1, c0, c1;
	struct timespec req = { 0, 20 * 1000 * 1000 };

	t0 = util_mono_ns();
	c0 = __rdtsc();
	nanosleep(&req, NULL);
	c1 = __rdtsc();
	t1 = util_mono_ns();
	if (t1 <= t0 || c1 <= c0)
		return 0;
	/* Round to 1 MHz: the guest only needs it for calibration, and a stable
	 * value keeps the kernel command line identical across runs. */
	return ((c1 - c0) * 1000000ull / (t1 - t0) + 500) / 1000 * 1000;
}

static int util_proc_stat_fields(pid_t pid, unsigned long long *utime,
				 unsigned long long *stime, unsigned long long *start)
{
	char path[64], *buf = NULL, *p;
	size_t len;
	int ret, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ret = util_read_file(path, 4096, &buf, &len);
	if (ret < 0)
		return ret;
	/* comm may contain spaces and parens: parse from the last ')' */
	p = strrchr(buf, ')');
	if (!p) {
		free(buf);
		return -EPROTO;
	}
	p++;
	for (field = 3; *p; field++) {
		while (*p == ' ')
			p++;
		if (field == 14)
			*utime = strtoull(p, NULL, 10);
		else if (field == 15)
			*stime = strtoull(p, NULL, 10);
		else if (field == 22) {
			*start = strtoull(p, NULL, 10);
			break;
		}
		while (*p && *p != ' ')
			p++;
	}
	free(buf);
	return field == 22 ? 0 : -EPROTO;
}

uint64_t util_proc_starttime(pid_t pid)
{
	unsigned long long u = 0, s = 0, st = 0;

	if (pid <= 0 || util_proc_stat_fields(pid, &u, &s, &st) < 0)
		return 0;
	return st;
}

int64_t util_proc_cpu_ms(pid_t pid, int64_t *user_ms, int64_t *sys_ms)
{
	unsigned long long u = 0, s = 0, st = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (pid <= 0 || hz <= 0 || util_proc_stat_fields(pid, &u, &s, &st) < 0)
		return -1;
	if (user_ms)
		*user_ms = (int64_t)(u * 1000 / (unsigned long long)hz);
	if (sys_ms)
		*sys_ms = (int64_t)(s * 1000 / (unsigned long long)hz);
	return (int64_t)((u + s) * 1000 / (unsigned long long)hz);
}

void util_last_line(const char *s, char *buf, size_t len)
{
	const char *end, *start;

	if (!len)
		return;
	buf[0] = '\0';
	if (!s)
		return;
	end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	for (start = end; start > s && start[-1] != '\n'; start--)
		;
	snprintf(buf, len, "%.*s", (int)(end - start), start);
}

char util_proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "PID (comm) S ...": comm may hold spaces and parentheses */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}
