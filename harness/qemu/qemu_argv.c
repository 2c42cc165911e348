/* SPDX-License-Identifier: MIT */
/* qemu_argv.c: build the QEMU command line and kernel command line for a lab VM. */
#include "qemu/qemu_argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qemu_argv_add(struct qemu_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

void qemu_argv_release(struct qemu_argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

char *qemu_argv_join(const struct qemu_argv *a)
{
	size_t i, len = 1;
	char *s, *p;

	for (i = 0; i < a->n; i++)
		len += strlen(a->v[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	p = s;
	for (i = 0; i < a->n; i++) {
		size_t l = strlen(a->v[i]);

		memcpy(p, a->v[i], l);
		p += l;
		*p++ = i + 1 < a->n ? ' ' : '\0';
	}
	if (!a->n)
		*p = '\0';
	return s;
}

int qemu_argv_find(const struct qemu_argv *a, const char *s)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->v[i], s))
			return (int)i;
	return -1;
}

static int qemu_cat(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off)
		return -ENAMETOOLONG;
	*off += (size_t)n;
	return 0;
}

/* The guest agent reads its plan from the command line (see guests/agent):
 * one uvmlab.if per NIC in NIC order, then gateway and forwarding. */
int qemu_cmdline_build(const struct qemu_vm_spec *s, char *buf, size_t len)
{
	const struct plan_vm *vm = s->vm;
	char accel[64] = "", mac[18], addr[16];
	size_t off = 0, i;
	int ret;

	ret = s->accel->add_cmdline(accel, sizeof(accel), s->tsc_khz);
	if (ret < 0)
		return ret;
	ret = qemu_cat(buf, len, &off,
		       "%s panic=-1 reboot=t%s%s%s%s uvmlab.vm=%s uvmlab.role=%s uvmlab.marker=0x%x",
		       s->console ? "console=ttyS0" : "quiet",
		       *s->machine->cmdline ? " " : "", s->machine->cmdline,
		       *accel ? " " : "", accel, vm->name, scn_role_name(vm->role),
		       QEMU_MARKER_PORT);
	for (i = 0; !ret && i < vm->n_nics; i++) {
		plan_fmt_mac(vm->nics[i].mac, mac);
		plan_fmt_addr(vm->nics[i].addr, addr);
		ret = qemu_cat(buf, len, &off, " uvmlab.if=%s,%s/%u", mac, addr, vm->nics[i].prefix);
	}
	if (!ret && vm->default_route) {
		plan_fmt_addr(vm->default_route, addr);
		ret = qemu_cat(buf, len, &off, " uvmlab.gw=%s", addr);
	}
	if (!ret && vm->forward)
		ret = qemu_cat(buf, len, &off, " uvmlab.forward=1");
	if (!ret && s->extra_cmdline && *s->extra_cmdline)
		ret = qemu_cat(buf, len, &off, " %s", s->extra_cmdline);
	return ret;
}

int qemu_argv_spec_vhost_user(struct qemu_vm_spec *s, const char *kind, const char *sock)
{
	if (s->n_vhost_user >= QEMU_MAX_VHOST_USER)
		return -ENOSPC;
	s->vhost_user[s->n_vhost_user++] = (struct qemu_vhost_user_dev){ .kind = kind, .sock = sock };
	return 0;
}

int qemu_argv_build(const struct qemu_vm_spec *s, struct qemu_argv *a)
{
	const struct plan_vm *vm = s->vm;
	const char *bus = s->machine->virtio_bus;
	char cmdline[2048], mac[18];
	size_t i;
	int ret = 0;

	memset(a, 0, sizeof(*a));
	ret = qemu_cmdline_build(s, cmdline, sizeof(cmdline));
#define ADD(...) do { if (!ret) ret = qemu_argv_add(a, __VA_ARGS__); } while (0)
	ADD("%s", s->qemu_bin);
	ADD("-name");
	ADD("guest=%s,debug-threads=on", vm->name);
	ADD("-machine");
	/* vhost-user backends map guest RAM: it must be a shareable memfd */
	if (s->n_vhost_user)
		ADD("%s,memory-backend=mem", s->machine->machine_arg);
	else
		ADD("%s", s->machine->machine_arg);
	if (!ret)
		ret = s->accel->add_args(a);
	ADD("-m");
	ADD("%u", vm->memory_mib);
	ADD("-smp");
	ADD("%u", vm->vcpus);
	ADD("-nodefaults");
	ADD("-no-user-config");
	ADD("-display");
	ADD("none");
	ADD("-no-reboot");
	/* QEMU's own seccomp filter: no obsolete syscalls, no setuid/setgid,
	 * no fork/exec, no scheduler/resource changes. Nothing uvmlab asks of
	 * QEMU needs them: taps arrive as fds, sockets exist beforehand. */
	ADD("-sandbox");
	ADD("%s", QEMU_SANDBOX_ARG);
	ADD("-kernel");
	ADD("%s", s->kernel);
	ADD("-initrd");
	ADD("%s", s->initrd);
	ADD("-append");
	ADD("%s", cmdline);
	/* Control and observation channels: we listen for the ones whose first
	 * byte we must not miss (QMP greeting, console, boot marker), so QEMU
	 * connects to us before the guest runs; the agent port is QEMU's
	 * listener so `uvmlab exec` can connect to it later. */
	if (!s->bare) {
		ADD("-chardev");
		ADD("socket,id=qmp,path=%s,server=off", s->qmp_sock);
		ADD("-mon");
		ADD("chardev=qmp,mode=control");
	}
	ADD("-chardev");
	if (s->bare)
		ADD("file,id=con,path=%s", s->console_sock);
	else
		ADD("socket,id=con,path=%s,server=off", s->console_sock);
	ADD("-serial");
	ADD("chardev:con");
	ADD("-chardev");
	if (s->bare)
		ADD("file,id=marker,path=%s", s->marker_sock);
	else
		ADD("socket,id=marker,path=%s,server=off", s->marker_sock);
	ADD("-device");
	ADD("isa-debugcon,iobase=0x%x,chardev=marker", QEMU_MARKER_PORT);
	ADD("-chardev");
	ADD("socket,id=agent,path=%s,server=on,wait=off", s->agent_sock);
	ADD("-device");
	ADD("virtio-serial-%s,id=vser0", bus);
	ADD("-device");
	ADD("virtserialport,bus=vser0.0,chardev=agent,name=uvmlab.agent");
	if (s->n_vhost_user) {
		ADD("-object");
		ADD("memory-backend-memfd,id=mem,size=%uM,share=on", vm->memory_mib);
	}
	for (i = 0; i < s->n_vhost_user; i++) {
		ADD("-chardev");
		ADD("socket,id=%s,path=%s", s->vhost_user[i].kind, s->vhost_user[i].sock);
		ADD("-device");
		ADD("vhost-user-%s-%s,chardev=%s", s->vhost_user[i].kind, bus, s->vhost_user[i].kind);
	}
	for (i = 0; i < vm->n_nics; i++) {
		plan_fmt_mac(vm->nics[i].mac, mac);
		ADD("-netdev");
		ADD("tap,id=net%zu,fd=%d,vhost=off", i, s->tap_fds[i]);
		ADD("-device");
		ADD("virtio-net-%s,netdev=net%zu,mac=%s", bus, i, mac);
	}
#undef ADD
	if (ret)
		qemu_argv_release(a);
	return ret;
}
