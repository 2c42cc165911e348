/* SPDX-License-Identifier: MIT */
/* lab_xfer.c: move bytes between the host and VMs, or between VMs, and verify them. */
#include "checks/lab_xfer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab/lab_plugin.h"
#include "services/lab_services.h"
#include "base/util.h"

struct lab_xfer_line {
	unsigned long long bytes;
	double seconds, mbps;
	char fnv[17];
};

/* The "xfer MODE bytes=N seconds=S MBps=R fnv1a=HEX" line of uvmlab-xfer. */
static int lab_xfer_parse(const char *text, struct lab_xfer_line *x)
{
	const char *p = text ? strstr(text, "xfer ") : NULL;
	char mode[8];

	for (; p; p = strstr(p + 1, "xfer "))
		if (sscanf(p, "xfer %7s bytes=%llu seconds=%lf MBps=%lf fnv1a=%16[0-9a-f]", mode,
			   &x->bytes, &x->seconds, &x->mbps, x->fnv) == 5)
			return 0;
	return -ENOENT;
}

/* A receiver in VM, in the background, output to OUT in the guest; returns
 * once it listens. *PID (guest pid, as text) is for cleanup. */
static int lab_xfer_guest_recv(struct lab *lab, const char *vm, const char *listen,
			       uint32_t bytes, const char *out, char *pid, size_t pidlen)
{
	char cmd[300];
	const char *argv[] = { "sh", "-c", cmd, NULL };
	struct agent_exec_result r = { 0 };
	uint8_t *data = NULL;
	size_t len = 0;
	int ret, i;

	snprintf(cmd, sizeof(cmd), "uvmlab-xfer recv %s --bytes %u --timeout 60 >%s 2>&1 & echo $!",
		 listen, bytes, out);
	ret = lab_exec(lab, vm, argv, 10000, &r);
	if (ret < 0)
		return ret;
	snprintf(pid, pidlen, "%.*s", (int)strcspn(r.out ? (char *)r.out : "", "\n"),
		 r.out ? (char *)r.out : "");
	agent_exec_result_release(&r);
	for (i = 0; i < 100; i++) {
		ret = lab_read_file(lab, vm, out, &data, &len);
		if (ret == 0 && strstr((char *)data, "listening")) {
			free(data);
			return 0;
		}
		free(data);
		data = NULL;
		usleep(100 * 1000);
	}
	lab_set_err(lab, "vm \"%s\": uvmlab-xfer did not start listening (%s)", vm, listen);
	return -ETIMEDOUT;
}

int lab_xfer(struct lab *lab, const struct plan *plan, const char *from, const char *to,
	     enum lab_xfer_transport transport, uint16_t port, uint32_t bytes, uint32_t msg,
	     struct lab_xfer_result *res)
{
	int from_host = !strcmp(from, LAB_XFER_HOST), to_host = !strcmp(to, LAB_XFER_HOST);
	char xfer[1200], guest_out[64], gpid[32] = "", nbytes[16], nmsg[16], dst[64], path[1300];
	char listen[64], sendout[1300], recvout[1300], addr[16];
	struct lab_xfer_line sx = { 0 }, rx = { 0 };
	char *stext = NULL, *rtext = NULL;
	const struct plan_vm *tvm = to_host ? NULL : plan_find_vm(plan, to);
	int ret = 0;
	pid_t hpid = -1;

	memset(res, 0, sizeof(*res));
	res->send_status = -1;
	if ((from_host || to_host) && transport != LAB_XFER_VSOCK) {
		lab_set_err(lab, "xfer: only vsock reaches the host");
		return -EINVAL;
	}
	if (transport == LAB_XFER_TCP) {
		uint32_t a = 0;

		if (!tvm || plan_target_addr(plan, plan_find_vm(plan, from), tvm, NULL, &a) < 0) {
			lab_set_err(lab, "xfer: vm \"%s\" has no address for TCP", to);
			return -EINVAL;
		}
		plan_fmt_addr(a, addr);
	}
	snprintf(xfer, sizeof(xfer), "%s/uvmlab-xfer", lab_images_dir(lab));
	snprintf(nbytes, sizeof(nbytes), "%u", bytes);
	snprintf(nmsg, sizeof(nmsg), "%u", msg ? msg : 65536);
	snprintf(guest_out, sizeof(guest_out), "/tmp/xfer-%u.out", port);
	snprintf(sendout, sizeof(sendout), "%s/xfer-%u.send", lab_run_dir(lab), port);
	snprintf(recvout, sizeof(recvout), "%s/xfer-%u.recv", lab_run_dir(lab), port);
	if (to_host) {
		const char *argv[] = { xfer, "recv", "--unix", path, "--bytes", nbytes, "--timeout", "60", NULL };
		int i;

		snprintf(path, sizeof(path), "%s_%u", lab_vm_vsock_host(lab, from), port);
		unlink(path);
		ret = lab_spawn(argv, recvout, &hpid);
		for (i = 0; !ret && i < 500 && access(path, F_OK) < 0; i++)
			usleep(10 * 1000);
		/* uvmlab-vsockd connects to it as the run's helper id, before
		 * the guest sends anything: give that group the socket */
		if (!ret && lab_plugin_helper_uid(lab) &&
		    (chown(path, (uid_t)-1, lab_plugin_helper_uid(lab)) < 0 || chmod(path, 0660) < 0)) {
			ret = -errno;
			lab_set_err(lab, "xfer: chown %s: %s", path, strerror(-ret));
		}
	} else {
		if (transport == LAB_XFER_TCP)
			snprintf(listen, sizeof(listen), "--tcp 0.0.0.0:%u", port);
		else
			snprintf(listen, sizeof(listen), "--vsock 0:%u", port);
		ret = lab_xfer_guest_recv(lab, to, listen, bytes, guest_out, gpid, sizeof(gpid));
	}
	if (ret < 0)
		goto cleanup;
	if (from_host) {
		const char *argv[] = { xfer, "send", "--hybrid", path, "--bytes", nbytes, "--msg", nmsg,
				       "--timeout", "60", NULL };
		pid_t spid;

		snprintf(path, sizeof(path), "%s:%u", lab_vm_vsock_host(lab, to), port);
		ret = lab_spawn(argv, sendout, &spid);
		if (ret < 0) {
			lab_set_err(lab, "xfer: %s: %s", xfer, strerror(-ret));
			goto cleanup;
		}
		res->send_status = lab_reap(spid, 90000);
		util_read_file(sendout, 1 << 16, &stext, NULL);
	} else {
		const char *argv[] = { "uvmlab-xfer", "send", transport == LAB_XFER_TCP ? "--tcp" : "--vsock",
				       dst, "--bytes", nbytes, "--msg", nmsg, "--timeout", "60", NULL };
		struct agent_exec_result r = { 0 };

		if (transport == LAB_XFER_TCP)
			snprintf(dst, sizeof(dst), "%s:%u", addr, port);
		else
			snprintf(dst, sizeof(dst), "%u:%u", tvm ? tvm->cid : 2u, port);
		ret = lab_exec(lab, from, argv, 90000, &r);
		if (ret < 0)
			goto cleanup;
		res->send_status = (int)r.status;
		if (asprintf(&stext, "%s%s", r.out ? (char *)r.out : "", r.err ? (char *)r.err : "") < 0)
			stext = NULL;
		agent_exec_result_release(&r);
	}
	if (to_host) {
		lab_reap(hpid, res->send_status == 0 ? 30000 : 1000);
		hpid = -1;
		util_read_file(recvout, 1 << 16, &rtext, NULL);
	} else {
		int i;

		for (i = 0; i < (res->send_status == 0 ? 300 : 10); i++) {
			size_t len = 0;

			free(rtext);
			rtext = NULL;
			if (lab_read_file(lab, to, guest_out, (uint8_t **)&rtext, &len) == 0 &&
			    strstr(rtext, "xfer recv"))
				break;
			usleep(100 * 1000);
		}
	}
	res->recv_got = lab_xfer_parse(rtext, &rx) == 0;
	lab_xfer_parse(stext, &sx);
	util_last_line(stext, res->send_line, sizeof(res->send_line));
	res->sent = sx.bytes;
	res->received = rx.bytes;
	res->send_mbps = sx.mbps;
	res->recv_mbps = rx.mbps;
	res->seconds = rx.seconds;
	memcpy(res->send_fnv, sx.fnv, sizeof(res->send_fnv));
	memcpy(res->recv_fnv, rx.fnv, sizeof(res->recv_fnv));
	res->ok = res->send_status == 0 && res->recv_got && sx.bytes == bytes && rx.bytes == bytes &&
		  !strcmp(sx.fnv, rx.fnv);
cleanup:
	if (hpid > 0)
		lab_reap(hpid, 0);
	if (gpid[0]) {
		const char *argv[] = { "kill", gpid, NULL };
		struct agent_exec_result r = { 0 };

		if (lab_exec(lab, to, argv, 5000, &r) == 0)
			agent_exec_result_release(&r);
	}
	free(stext);
	free(rtext);
	return ret;
}
