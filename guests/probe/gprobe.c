/* SPDX-License-Identifier: MIT */
/* gprobe.c: uvmlab-gprobe, the in-guest isolation probe: start (load, attach, pin), report (JSON), stop. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gprobe.h"
#include "gprobe.skel.h"
#include "proto/gprobe_proto.h"

_Static_assert(sizeof(struct gprobe_tx_key) == 64, "gprobe_tx_key must have no implicit padding");
_Static_assert(sizeof(struct gprobe_tx_value) == 16, "gprobe_tx_value layout is shared with BPF");
_Static_assert(sizeof(struct gprobe_sock_owner) == 24, "gprobe_sock_owner layout is shared with BPF");

#define GPROBE_KERNEL_BTF "/sys/kernel/btf/vmlinux"

/* --btf PATH: CO-RE relocates against this file instead (custom kernels). */
static const char *gprobe_btf_path;
#define GPROBE_BPFFS      "/sys/fs/bpf"
#define GPROBE_PIN_DIR    GPROBE_BPFFS "/uvmlab-gprobe"
#define GPROBE_CGROUP     "/sys/fs/cgroup"
#define GPROBE_PASSWD     "/etc/passwd"
#define GPROBE_PASSWD_MAX (1u << 20)
/* Verifier log per program, used only when a load fails. Large enough that
 * the kernel never truncates it (a truncated log turns into ENOSPC). */
#define GPROBE_LOG_SIZE   (1u << 20)
/* A number macro as a string literal, for the usage text. */
#define GPROBE_XSTR(x)    #x
#define GPROBE_STR(x)     GPROBE_XSTR(x)

#define GPROBE_EXIT_OK    0
#define GPROBE_EXIT_FAIL  1
#define GPROBE_EXIT_USAGE 2

struct gprobe_err {
	char msg[512];
};

static void gprobe_fail(struct gprobe_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gprobe_fail(struct gprobe_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

static int gprobe_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int gprobe_libbpf_stderr(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t gprobe_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- pins ---------------------------------------------------------------- */

/* Pin names under GPROBE_PIN_DIR. The maps are what report reads; the links
 * keep the programs attached after this process exits. */
#define GPROBE_PIN_TX       "tx"
#define GPROBE_PIN_SOCKS    "socks"
#define GPROBE_PIN_COUNTERS "counters"

/* Remove GPROBE_PIN_DIR and everything pinned in it; unpinning a link that
 * nobody else holds detaches its program. Returns 0, -ENOENT when there was
 * nothing to remove, or another negative errno. */
static int gprobe_unpin_all(struct gprobe_err *e)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	d = opendir(GPROBE_PIN_DIR);
	if (!d) {
		ret = -errno;
		if (ret != -ENOENT)
			gprobe_fail(e, "open %s: %s", GPROBE_PIN_DIR, strerror(-ret));
		return ret;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && ret == 0) {
			ret = -errno;
			gprobe_fail(e, "unpin %s/%s: %s", GPROBE_PIN_DIR, de->d_name, strerror(errno));
		}
	}
	closedir(d);
	if (ret == 0 && rmdir(GPROBE_PIN_DIR) < 0) {
		ret = -errno;
		gprobe_fail(e, "remove %s: %s", GPROBE_PIN_DIR, strerror(errno));
	}
	return ret;
}

/* Mount FSTYPE at PATH unless a filesystem with MAGIC is already there. An
 * empty sysfs mount point counts as "nothing mounted"; anything else there
 * is somebody's choice that we do not cover up. */
static int gprobe_ensure_mount(const char *path, const char *fstype, long magic, const char *data,
			       struct gprobe_err *e)
{
	struct statfs st;

	int ret;

	if (statfs(path, &st) < 0) {
		ret = -errno;
		gprobe_fail(e, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if ((long)st.f_type == magic)
		return 0;
	if ((long)st.f_type != SYSFS_MAGIC) {
		gprobe_fail(e, "%s holds another filesystem (type 0x%lx), not %s", path,
			    (unsigned long)st.f_type, fstype);
		return -EBUSY;
	}
	if (mount(fstype, path, fstype, 0, data) < 0) {
		ret = -errno;
		gprobe_fail(e, "mount %s at %s: %s", fstype, path, strerror(-ret));
		return ret;
	}
	return 0;
}

/* ---- start --------------------------------------------------------------- */

/* Everything start acquires, released by gprobe_start_destroy(). */
struct gprobe_start {
	struct gprobe *skel;
	char *logs[4];      /* verifier logs, one per program in gprobe_start_progs() order */
	int cgroup_fd;
	int pin_dir_made;   /* we created GPROBE_PIN_DIR: remove it on failure */
	int done;           /* everything pinned: keep the pins */
	uint64_t load_ms;
};

/* The programs in attach order, with the link slot and pin name of each. */
struct gprobe_prog_slot {
	struct bpf_program *prog;
	struct bpf_link **link;
	const char *pin;
};

static size_t gprobe_start_progs(struct gprobe *skel, struct gprobe_prog_slot *slots)
{
	struct gprobe_prog_slot s[] = {
		{ skel->progs.gprobe_xmit, &skel->links.gprobe_xmit, "link_xmit" },
		{ skel->progs.gprobe_xdp_redirect, &skel->links.gprobe_xdp_redirect, "link_xdp_redirect" },
		{ skel->progs.gprobe_xdp_redirect_err, &skel->links.gprobe_xdp_redirect_err,
		  "link_xdp_redirect_err" },
		{ skel->progs.gprobe_sock_create, &skel->links.gprobe_sock_create, "link_sock_create" },
	};

	memcpy(slots, s, sizeof(s));
	return sizeof(s) / sizeof(s[0]);
}

/* The verifier's own words from LOG: its last line that is not the
 * statistics trailer. Empty when the log says nothing. */
static void gprobe_log_cause(const char *log, char *out, size_t outlen)
{
	const char *end = log + strlen(log);
	const char *line;
	size_t n;

	out[0] = '\0';
	while (end > log) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		line = end;
		while (line > log && line[-1] != '\n')
			line--;
		n = (size_t)(end - line);
		if (n > 0 && strncmp(line, "processed ", 10) && strncmp(line, "verification time", 17)) {
			if (n >= outlen)
				n = outlen - 1;
			memcpy(out, line, n);
			out[n] = '\0';
			return;
		}
		end = line;
	}
}

static int gprobe_start_load(struct gprobe_start *st, struct gprobe_err *e)
{
	struct gprobe_prog_slot slots[4];
	char cause[200];
	uint64_t t0 = gprobe_mono_ms();
	size_t n;
	int ret;

	if (gprobe_btf_path) {
		LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = gprobe_btf_path);

		st->skel = gprobe__open_opts(&oo);
	} else {
		st->skel = gprobe__open();
	}
	if (!st->skel) {
		ret = -errno;
		gprobe_fail(e, "open BPF object: %s", strerror(errno));
		return ret;
	}
	n = gprobe_start_progs(st->skel, slots);
	for (size_t i = 0; i < n; i++) {
		st->logs[i] = calloc(1, GPROBE_LOG_SIZE);
		if (!st->logs[i]) {
			gprobe_fail(e, "out of memory");
			return -ENOMEM;
		}
		bpf_program__set_log_buf(slots[i].prog, st->logs[i], GPROBE_LOG_SIZE);
	}
	ret = gprobe__load(st->skel);
	st->load_ms = gprobe_mono_ms() - t0;
	if (ret == 0)
		return 0;
	/* libbpf fills a program's log only when that program failed. */
	for (size_t i = 0; i < n; i++) {
		if (st->logs[i][0] == '\0')
			continue;
		gprobe_log_cause(st->logs[i], cause, sizeof(cause));
		gprobe_fail(e, "load %s: %s%s%s", bpf_program__section_name(slots[i].prog),
			    strerror(-ret), cause[0] ? ": verifier: " : "", cause);
		return ret;
	}
	gprobe_fail(e, "load BPF object: %s (-v shows libbpf's log)", strerror(-ret));
	return ret;
}

static int gprobe_start_attach(struct gprobe_start *st, struct gprobe_err *e)
{
	struct gprobe_prog_slot slots[4];
	struct bpf_link *link;
	size_t n = gprobe_start_progs(st->skel, slots);
	int ret;

	st->cgroup_fd = open(GPROBE_CGROUP, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->cgroup_fd < 0) {
		ret = -errno;
		gprobe_fail(e, "open %s: %s", GPROBE_CGROUP, strerror(errno));
		return ret;
	}
	for (size_t i = 0; i < n; i++) {
		if (slots[i].prog == st->skel->progs.gprobe_sock_create)
			link = bpf_program__attach_cgroup(slots[i].prog, st->cgroup_fd);
		else
			link = bpf_program__attach(slots[i].prog);
		if (!link) {
			ret = -errno;
			gprobe_fail(e, "attach %s: %s", bpf_program__section_name(slots[i].prog),
				    strerror(errno));
			return ret;
		}
		*slots[i].link = link;
	}
	return 0;
}

static int gprobe_start_pin(struct gprobe_start *st, struct gprobe_err *e)
{
	struct gprobe_prog_slot slots[4];
	const struct {
		struct bpf_map *map;
		const char *pin;
	} maps[] = {
		{ st->skel->maps.tx, GPROBE_PIN_TX },
		{ st->skel->maps.socks, GPROBE_PIN_SOCKS },
		{ st->skel->maps.counters, GPROBE_PIN_COUNTERS },
	};
	size_t n = gprobe_start_progs(st->skel, slots);
	char path[256];
	int ret;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", GPROBE_PIN_DIR, maps[i].pin);
		ret = bpf_map__pin(maps[i].map, path);
		if (ret) {
			gprobe_fail(e, "pin %s: %s", path, strerror(-ret));
			return ret;
		}
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", GPROBE_PIN_DIR, slots[i].pin);
		ret = bpf_link__pin(*slots[i].link, path);
		if (ret) {
			gprobe_fail(e, "pin %s: %s", path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Close what start holds. Unless start finished, also remove every pin, so
 * a failed start leaves the kernel as it found it (mounts aside). The fds go
 * first: a start that failed for want of file descriptors still needs one to
 * read the pin directory. */
static void gprobe_start_destroy(struct gprobe_start *st)
{
	struct gprobe_err ignored;

	gprobe__destroy(st->skel);
	if (st->cgroup_fd >= 0)
		close(st->cgroup_fd);
	for (size_t i = 0; i < sizeof(st->logs) / sizeof(st->logs[0]); i++)
		free(st->logs[i]);
	if (st->pin_dir_made && !st->done)
		gprobe_unpin_all(&ignored);
}

static int gprobe_start(struct gprobe_err *e)
{
	const char *btf = gprobe_btf_path ? gprobe_btf_path : GPROBE_KERNEL_BTF;
	struct gprobe_start st = { .cgroup_fd = -1 };
	int ret;

	/* libbpf would only say "failed to parse target BTF: -2" deep in its log. */
	if (access(btf, R_OK) < 0) {
		ret = -errno;
		if (errno == ENOENT)
			gprobe_fail(e, "no kernel BTF at %s", btf);
		else
			gprobe_fail(e, "kernel BTF %s: %s", btf, strerror(errno));
		return ret;
	}
	ret = gprobe_ensure_mount(GPROBE_BPFFS, "bpf", BPF_FS_MAGIC, "mode=0700", e);
	if (ret)
		return ret;
	/* The directory doubles as the lock: mkdir is atomic, so of two
	 * concurrent starts exactly one proceeds. */
	if (mkdir(GPROBE_PIN_DIR, 0700) < 0) {
		ret = -errno;
		if (errno == EEXIST)
			gprobe_fail(e, "already running");
		else
			gprobe_fail(e, "create %s: %s", GPROBE_PIN_DIR, strerror(errno));
		return ret;
	}
	st.pin_dir_made = 1;
	ret = gprobe_ensure_mount(GPROBE_CGROUP, "cgroup2", CGROUP2_SUPER_MAGIC, NULL, e);
	if (ret)
		goto cleanup;
	ret = gprobe_start_load(&st, e);
	if (ret)
		goto cleanup;
	ret = gprobe_start_attach(&st, e);
	if (ret)
		goto cleanup;
	ret = gprobe_start_pin(&st, e);
	if (ret)
		goto cleanup;
	st.done = 1;
	printf("gprobe: attached (tp_btf/net_dev_start_xmit, tp_btf/xdp_redirect, "
	       "tp_btf/xdp_redirect_err, cgroup/sock_create on %s; load %" PRIu64 " ms; "
	       "pinned in %s)\n", GPROBE_CGROUP, st.load_ms, GPROBE_PIN_DIR);
cleanup:
	gprobe_start_destroy(&st);
	return ret;
}

/* ---- report -------------------------------------------------------------- */

struct gprobe_row {
	struct gprobe_tx_key key;
	struct gprobe_tx_value val;
};

/* Everything report reads before it prints, released by gprobe_report_destroy(). */
struct gprobe_report {
	int tx_fd, socks_fd, counters_fd;
	uint64_t ctr[GPROBE_CTR_NR];
	struct gprobe_row *rows;
	size_t nrows, cap;
	char *passwd;       /* /etc/passwd, NUL-terminated; NULL if unreadable */
	struct if_nameindex *ifs;
	int ioctl_fd;
};

static void gprobe_report_destroy(struct gprobe_report *r)
{
	if (r->tx_fd >= 0)
		close(r->tx_fd);
	if (r->socks_fd >= 0)
		close(r->socks_fd);
	if (r->counters_fd >= 0)
		close(r->counters_fd);
	if (r->ioctl_fd >= 0)
		close(r->ioctl_fd);
	if (r->ifs)
		if_freenameindex(r->ifs);
	free(r->rows);
	free(r->passwd);
}

/* Open the pinned map NAME and check it is the map this binary knows. */
static int gprobe_report_open_map(const char *name, uint32_t key_size, uint32_t value_size, int *fd,
				  struct gprobe_err *e)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", GPROBE_PIN_DIR, name);
	*fd = bpf_obj_get(path);
	if (*fd < 0) {
		ret = -errno;
		if (errno == ENOENT)
			gprobe_fail(e, "not running");
		else
			gprobe_fail(e, "open %s: %s", path, strerror(errno));
		return ret;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(*fd, &info, &len) < 0) {
		ret = -errno;
		gprobe_fail(e, "inspect %s: %s", path, strerror(errno));
		return ret;
	}
	if (info.key_size != key_size || info.value_size != value_size) {
		gprobe_fail(e, "%s was pinned by another version of uvmlab-gprobe", path);
		return -EPROTO;
	}
	return 0;
}

static int gprobe_report_read_tx(struct gprobe_report *r, struct gprobe_err *e)
{
	struct gprobe_tx_key key, next;
	struct gprobe_row *grown;
	const void *prev = NULL;

	while (bpf_map_get_next_key(r->tx_fd, prev, &next) == 0) {
		if (r->nrows == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 256;
			grown = realloc(r->rows, r->cap * sizeof(*r->rows));
			if (!grown) {
				gprobe_fail(e, "out of memory");
				return -ENOMEM;
			}
			r->rows = grown;
		}
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(r->tx_fd, &key, &r->rows[r->nrows].val) < 0)
			continue;
		r->rows[r->nrows].key = key;
		r->nrows++;
	}
	if (errno != ENOENT) {
		int ret = -errno;

		gprobe_fail(e, "read %s/%s: %s", GPROBE_PIN_DIR, GPROBE_PIN_TX, strerror(-ret));
		return ret;
	}
	return 0;
}

/* Biggest rows first, so a truncated report keeps what matters most; ties
 * by key so equal counts print in a stable order. */
static int gprobe_row_cmp(const void *a, const void *b)
{
	const struct gprobe_row *x = a, *y = b;

	if (x->val.packets != y->val.packets)
		return x->val.packets > y->val.packets ? -1 : 1;
	if (x->val.bytes != y->val.bytes)
		return x->val.bytes > y->val.bytes ? -1 : 1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

/* Read /etc/passwd whole; a guest without one just has no user names. */
static void gprobe_report_read_passwd(struct gprobe_report *r)
{
	FILE *f = fopen(GPROBE_PASSWD, "re");
	size_t n;

	if (!f)
		return;
	r->passwd = malloc(GPROBE_PASSWD_MAX + 1);
	if (r->passwd) {
		n = fread(r->passwd, 1, GPROBE_PASSWD_MAX, f);
		r->passwd[n] = '\0';
	}
	fclose(f);
}

/* The name of UID in passwd (name:password:uid:...), "" if not listed.
 * No NSS: a static binary cannot load it, and guests have only files. */
static void gprobe_passwd_name(const char *passwd, uint32_t uid, char *out, size_t outlen)
{
	const char *line = passwd;
	const char *c1, *c2, *nl;
	char *end;
	unsigned long v;

	out[0] = '\0';
	while (line && *line) {
		nl = strchr(line, '\n');
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 && (!nl || c2 < nl)) {
			errno = 0;
			v = strtoul(c2 + 1, &end, 10);
			if (errno == 0 && end != c2 + 1 && (*end == ':' || *end == '\n' || !*end) &&
			    v == uid && (size_t)(c1 - line) < outlen) {
				memcpy(out, line, (size_t)(c1 - line));
				out[c1 - line] = '\0';
				return;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
}

/* S (at most MAX bytes, stops at NUL) as a JSON string. Only printable
 * ASCII passes through: a comm or an interface name can hold any bytes,
 * and the reader must get valid JSON whatever they are. */
static void gprobe_json_str(FILE *out, const char *s, size_t max)
{
	fputc('"', out);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void gprobe_json_addr(FILE *out, const struct gprobe_tx_key *k, const uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN] = "";

	if (k->ethertype == 0x0800)
		inet_ntop(AF_INET, addr, text, sizeof(text));
	else if (k->ethertype == 0x86dd)
		inet_ntop(AF_INET6, addr, text, sizeof(text));
	gprobe_json_str(out, text, sizeof(text));
}

static void gprobe_report_interfaces(struct gprobe_report *r, FILE *out)
{
	struct ifreq ifr;
	const uint8_t *m;
	char mac[18];
	int first = 1;

	fputs(" \"interfaces\":[", out);
	for (struct if_nameindex *i = r->ifs; i && i->if_index; i++) {
		mac[0] = '\0';
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->if_name);
		/* Only link types with an Ethernet-style address get one. */
		if (r->ioctl_fd >= 0 && ioctl(r->ioctl_fd, SIOCGIFHWADDR, &ifr) == 0 &&
		    (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER ||
		     ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK)) {
			m = (const uint8_t *)ifr.ifr_hwaddr.sa_data;
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
				 m[3], m[4], m[5]);
		}
		fprintf(out, "%s{\"ifindex\":%u,\"name\":", first ? "" : ",", i->if_index);
		gprobe_json_str(out, i->if_name, IF_NAMESIZE);
		fputs(",\"mac\":", out);
		gprobe_json_str(out, mac, sizeof(mac));
		fputc('}', out);
		first = 0;
	}
	fputs("],\n", out);
}

static void gprobe_report_row(struct gprobe_report *r, FILE *out, const struct gprobe_row *row)
{
	const struct gprobe_tx_key *k = &row->key;
	struct gprobe_sock_owner owner;
	char user[64] = "";

	fprintf(out, "{\"oif\":%" PRIu32 ",\"iif\":%" PRIu32 ",\"ethertype\":%" PRIu16
		     ",\"proto\":%" PRIu8 ",\"port\":%" PRIu16 ",\"src\":",
		k->oif, k->iif, k->ethertype, k->proto, k->port);
	gprobe_json_addr(out, k, k->src);
	fputs(",\"dst\":", out);
	gprobe_json_addr(out, k, k->dst);
	fprintf(out, ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"owner\":", row->val.packets,
		row->val.bytes);
	if (k->cookie == 0) {
		fputs("null}", out);
		return;
	}
	/* Sockets created before start, and accepted ones (cloned from
	 * the listener, never created), are not in socks. */
	if (bpf_map_lookup_elem(r->socks_fd, &k->cookie, &owner) < 0)
		memset(&owner, 0, sizeof(owner));
	if (r->passwd && k->uid != GPROBE_UID_NONE)
		gprobe_passwd_name(r->passwd, k->uid, user, sizeof(user));
	fprintf(out, "{\"cookie\":%" PRIu64 ",\"uid\":%" PRIu32 ",\"user\":", k->cookie, k->uid);
	gprobe_json_str(out, user, sizeof(user));
	fprintf(out, ",\"pid\":%" PRIu32 ",\"comm\":", owner.tgid);
	gprobe_json_str(out, owner.comm, sizeof(owner.comm));
	fputs("}}", out);
}

static int gprobe_report(struct gprobe_err *e)
{
	struct gprobe_report r = { .tx_fd = -1, .socks_fd = -1, .counters_fd = -1, .ioctl_fd = -1 };
	struct utsname uts;
	size_t shown;
	int ret;

	ret = gprobe_report_open_map(GPROBE_PIN_TX, sizeof(struct gprobe_tx_key),
				     sizeof(struct gprobe_tx_value), &r.tx_fd, e);
	if (ret)
		goto cleanup;
	ret = gprobe_report_open_map(GPROBE_PIN_SOCKS, sizeof(uint64_t),
				     sizeof(struct gprobe_sock_owner), &r.socks_fd, e);
	if (ret)
		goto cleanup;
	ret = gprobe_report_open_map(GPROBE_PIN_COUNTERS, sizeof(uint32_t), sizeof(uint64_t),
				     &r.counters_fd, e);
	if (ret)
		goto cleanup;
	/* Counters first: rows read afterwards are never older than them. */
	for (uint32_t i = 0; i < GPROBE_CTR_NR; i++) {
		if (bpf_map_lookup_elem(r.counters_fd, &i, &r.ctr[i]) < 0) {
			ret = -errno;
			gprobe_fail(e, "read counters: %s", strerror(errno));
			goto cleanup;
		}
	}
	ret = gprobe_report_read_tx(&r, e);
	if (ret)
		goto cleanup;
	if (r.nrows > 1)
		qsort(r.rows, r.nrows, sizeof(*r.rows), gprobe_row_cmp);
	gprobe_report_read_passwd(&r);
	r.ifs = if_nameindex();
	/* Any socket can ask for a device's address; AF_UNIX is not an inet
	 * socket, so it does not show up in our own socks map. */
	r.ioctl_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (uname(&uts) < 0)
		snprintf(uts.release, sizeof(uts.release), "%s", "");

	fputs("{\"format\":\"" GPROBE_FORMAT "\",\"kernel\":", stdout);
	gprobe_json_str(stdout, uts.release, sizeof(uts.release));
	fputs(",\n", stdout);
	gprobe_report_interfaces(&r, stdout);
	shown = r.nrows < GPROBE_MAX_TX ? r.nrows : GPROBE_MAX_TX;
	printf(" \"seen\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"xdp_redirects\":%" PRIu64
	       ",\"truncated\":%s,\n \"tx\":[",
	       r.ctr[GPROBE_CTR_SEEN], r.ctr[GPROBE_CTR_LOST], r.ctr[GPROBE_CTR_XDP_REDIRECTS],
	       r.nrows > shown ? "true" : "false");
	for (size_t i = 0; i < shown; i++) {
		fputs(i ? ",\n  " : "\n  ", stdout);
		gprobe_report_row(&r, stdout, &r.rows[i]);
	}
	fputs("]}\n", stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ret = -EIO;
		gprobe_fail(e, "write report: %s", strerror(errno));
	}
cleanup:
	gprobe_report_destroy(&r);
	return ret;
}

/* ---- stop and CLI -------------------------------------------------------- */

static int gprobe_stop(struct gprobe_err *e)
{
	int ret = gprobe_unpin_all(e);

	if (ret == -ENOENT) {
		printf("gprobe: not running\n");
		return 0;
	}
	if (ret == 0)
		printf("gprobe: stopped\n");
	return ret;
}

static void gprobe_usage(FILE *out)
{
	fputs("usage: uvmlab-gprobe [-v] [--btf PATH] start|report|stop\n"
	      "\n"
	      "Records, inside a guest, every packet any interface transmits (forwarded\n"
	      "ones have a non-zero iif), the socket and process behind it, and XDP\n"
	      "redirects. Needs root, kernel BTF at " GPROBE_KERNEL_BTF ", and BPF\n"
	      "tracing (tp_btf) and cgroup-bpf support.\n"
	      "\n"
	      "Commands:\n"
	      "  start   load and attach the programs (tp_btf/net_dev_start_xmit,\n"
	      "          tp_btf/xdp_redirect, tp_btf/xdp_redirect_err, cgroup/sock_create\n"
	      "          on the root cgroup), pin links and maps in " GPROBE_PIN_DIR ",\n"
	      "          exit; they stay attached without a daemon. Mounts bpffs at\n"
	      "          " GPROBE_BPFFS " and cgroup2 at " GPROBE_CGROUP " if nothing is there.\n"
	      "          On failure nothing stays pinned.\n"
	      "  report  print what was recorded since start as one JSON object\n"
	      "          (format " GPROBE_FORMAT ", at most " GPROBE_STR(GPROBE_MAX_TX) " tx rows, biggest first)\n"
	      "  stop    unpin everything, which detaches the programs\n"
	      "\n"
	      "Options:\n"
	      "  -v, --verbose  pass libbpf's log (verifier output included) to stderr\n"
	      "  --btf PATH     start: relocate against this BTF file instead of\n"
	      "                 " GPROBE_KERNEL_BTF " (a kernel that keeps it elsewhere)\n"
	      "  -h, --help     this text\n"
	      "\n"
	      "Exit status: 0 done (stop when not running too); 1 failed, with one line\n"
	      "on stderr naming the cause (start: already running or could not attach;\n"
	      "report: not running); 2 bad usage.\n",
	      out);
}

int main(int argc, char **argv)
{
	struct gprobe_err e = { .msg = "" };
	const char *cmd = NULL;
	int verbose = 0;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			gprobe_usage(stdout);
			return GPROBE_EXIT_OK;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = 1;
		} else if (!strcmp(argv[i], "--btf") && i + 1 < argc) {
			gprobe_btf_path = argv[++i];
		} else if (!cmd && argv[i][0] != '-') {
			cmd = argv[i];
		} else {
			gprobe_usage(stderr);
			return GPROBE_EXIT_USAGE;
		}
	}
	if (!cmd) {
		gprobe_usage(stderr);
		return GPROBE_EXIT_USAGE;
	}
	libbpf_set_print(verbose ? gprobe_libbpf_stderr : gprobe_libbpf_quiet);
	if (!strcmp(cmd, "start")) {
		ret = gprobe_start(&e);
	} else if (!strcmp(cmd, "report")) {
		ret = gprobe_report(&e);
	} else if (!strcmp(cmd, "stop")) {
		ret = gprobe_stop(&e);
	} else {
		fprintf(stderr, "gprobe: unknown command '%s' (try --help)\n", cmd);
		return GPROBE_EXIT_USAGE;
	}
	if (ret) {
		fprintf(stderr, "gprobe: %s\n", e.msg[0] ? e.msg : strerror(-ret));
		return GPROBE_EXIT_FAIL;
	}
	return GPROBE_EXIT_OK;
}
