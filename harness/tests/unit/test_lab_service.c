/* SPDX-License-Identifier: MIT */
/* test_lab_service.c: the lab drives host services through their ops alone, in registry order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lab/lab_service.c"
#include "lab/lab_plugin.c"

#include <fcntl.h>
#include <unistd.h>

/* The rest of the lab is not linked: lab_set_err() is all the hooks use. */
volatile sig_atomic_t lab_stop_flag;
void lab_set_err(struct lab *lab, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lab->err, sizeof(lab->err), fmt, ap);
	va_end(ap);
}
const char *lab_error(const struct lab *lab) { return lab->err; }
/* lab_service_create() falls back to the real registry only without
 * lab_opts.services: these tests always bring their own. */
const struct service_ops *const *services_registry(size_t *n)
{
	*n = 0;
	return NULL;
}

/* What the fakes saw, in order: "a:start", "b:stop", ... */
static char calls[512];

struct fake_state {
	int inited;
	int fd;          /* a namespace-like fd for netns_fd(), -1 = none */
	int fail_start;
	int fail_health;
};

static void fake_log(const char *svc, const char *what)
{
	size_t n = strlen(calls);

	snprintf(calls + n, sizeof(calls) - n, "%s%s:%s", n ? " " : "", svc, what);
}

#define FAKE_SERVICE(ID, WANTED)                                                            \
	static int fake_##ID##_wanted(const struct plan *plan) { (void)plan; return WANTED; }  \
	static void fake_##ID##_init(struct lab *lab, void *st)                               \
	{                                                                                      \
		struct fake_state *s = st;                                                     \
		(void)lab;                                                                     \
		s->inited = 1;                                                                 \
		s->fd = -1;                                                                    \
		fake_log(#ID, "init");                                                         \
	}                                                                                      \
	static int fake_##ID##_start(struct lab *lab, void *st)                               \
	{                                                                                      \
		struct fake_state *s = st;                                                     \
		fake_log(#ID, "start");                                                        \
		if (s->fail_start) {                                                           \
			lab_set_err(lab, "fake " #ID ": did not start");                        \
			return -EIO;                                                           \
		}                                                                              \
		return 0;                                                                      \
	}                                                                                      \
	static int fake_##ID##_vm_argv(struct lab *lab, void *st, struct lab_vm *vm,          \
				       struct qemu_vm_spec *spec)                             \
	{                                                                                      \
		(void)lab; (void)st; (void)vm;                                                 \
		fake_log(#ID, "argv");                                                         \
		if (spec->n_vhost_user >= QEMU_MAX_VHOST_USER)                                 \
			return -ENOSPC;                                                        \
		spec->vhost_user[spec->n_vhost_user++] =                                       \
			(struct qemu_vhost_user_dev){ #ID, "/fake/" #ID ".sock" };             \
		return 0;                                                                      \
	}                                                                                      \
	static int fake_##ID##_vm_taps(struct lab *lab, void *st, struct lab_vm *vm)          \
	{                                                                                      \
		(void)lab; (void)st;                                                           \
		fake_log(#ID, lab_plugin_vm_tap(vm, 0));                                       \
		return 0;                                                                      \
	}                                                                                      \
	static int fake_##ID##_netns_fd(const struct lab *lab, const void *st)               \
	{                                                                                      \
		(void)lab;                                                                     \
		return ((const struct fake_state *)st)->fd;                                    \
	}                                                                                      \
	static int fake_##ID##_health(struct lab *lab, void *st)                              \
	{                                                                                      \
		if (!((struct fake_state *)st)->fail_health)                                   \
			return 0;                                                              \
		lab_set_err(lab, "fake " #ID " died");                                         \
		return -EPIPE;                                                                 \
	}                                                                                      \
	static void fake_##ID##_stop(struct lab *lab, void *st)                               \
	{                                                                                      \
		(void)lab; (void)st;                                                           \
		fake_log(#ID, "stop");                                                         \
	}                                                                                      \
	static void fake_##ID##_destroy(void *st)                                             \
	{                                                                                      \
		struct fake_state *s = st;                                                     \
		if (s->fd >= 0)                                                                \
			close(s->fd);                                                          \
		fake_log(#ID, "destroy");                                                      \
	}                                                                                      \
	static const struct service_ops fake_##ID = {                                         \
		.name = "fake " #ID, .state_size = sizeof(struct fake_state),                  \
		.wanted = fake_##ID##_wanted, .init = fake_##ID##_init,                        \
		.start = fake_##ID##_start, .vm_argv = fake_##ID##_vm_argv,                    \
		.vm_taps = fake_##ID##_vm_taps, .netns_fd = fake_##ID##_netns_fd,              \
		.health = fake_##ID##_health, .stop = fake_##ID##_stop,                        \
		.destroy = fake_##ID##_destroy,                                                \
	}

FAKE_SERVICE(a, 1);
FAKE_SERVICE(b, 0);
FAKE_SERVICE(c, 1);

/* Only name and wanted: every other hook may be missing. */
static int fake_bare_wanted(const struct plan *plan) { (void)plan; return 1; }
static const struct service_ops fake_bare = { .name = "bare", .wanted = fake_bare_wanted };

static const struct service_ops *const registry[] = { &fake_a, &fake_b, &fake_c, &fake_bare };

struct fixture {
	struct scenario scn;
	struct scn_vm svm;
	struct plan plan;
	struct plan_vm pvm;
	struct lab lab;
	struct lab_vm vm;
};

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	calls[0] = '\0';
	f->pvm.name = "vm1";
	f->pvm.scn = &f->svm;
	f->pvm.n_nics = 1;
	snprintf(f->pvm.nics[0].tap, sizeof(f->pvm.nics[0].tap), "vm1-eth0");
	f->plan.scn = &f->scn;
	f->plan.vms = &f->pvm;
	f->plan.n_vms = 1;
	f->vm.lab = &f->lab;
	f->vm.pvm = &f->pvm;
	f->lab.plan = &f->plan;
	f->lab.vms = &f->vm;
	f->lab.n_vms = 1;
	f->lab.opts.services = registry;
	f->lab.opts.n_services = UTIL_ARRAY_SIZE(registry);
	assert_int_equal(lab_service_create(&f->lab), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	lab_service_destroy(&f->lab);
	free(f);
}

static void test_lifecycle_in_order(void **state)
{
	struct fixture *f = fixture_new();
	struct qemu_vm_spec spec = { 0 };
	struct fake_state *a = lab_service_state(&f->lab, &fake_a);

	(void)state;
	/* every registered service gets its zeroed, init()ed block; only wanted ones run */
	assert_non_null(a);
	assert_int_equal(a->inited, 1);
	assert_int_equal(((struct fake_state *)lab_service_state(&f->lab, &fake_b))->inited, 1);
	assert_null(lab_service_state(&f->lab, &fake_bare)); /* state_size 0 */
	assert_true(lab_service_wanted(&f->lab, &fake_a));
	assert_false(lab_service_wanted(&f->lab, &fake_b));
	assert_int_equal(lab_service_start_all(&f->lab), 0);
	assert_int_equal(lab_service_vm_taps(&f->vm), 0);
	assert_int_equal(lab_service_vm_argv(&f->vm, &spec), 0);
	assert_int_equal(spec.n_vhost_user, 2);
	assert_string_equal(spec.vhost_user[0].kind, "a");
	assert_string_equal(spec.vhost_user[1].sock, "/fake/c.sock");
	lab_service_stop_all(&f->lab);
	lab_service_stop_all(&f->lab); /* a second lab_down() stops nothing twice */
	assert_string_equal(calls, "a:init b:init c:init a:start c:start a:vm1-eth0 c:vm1-eth0 "
			    "a:argv c:argv c:stop a:stop");
	fixture_free(f);
	assert_string_equal(calls + strlen(calls) - strlen("a:destroy b:destroy c:destroy"),
			    "a:destroy b:destroy c:destroy");
}

static void test_failed_start_still_stops(void **state)
{
	struct fixture *f = fixture_new();
	struct fake_state *c = lab_service_state(&f->lab, &fake_c);

	(void)state;
	c->fail_start = 1;
	assert_int_equal(lab_service_start_all(&f->lab), -EIO);
	assert_string_equal(lab_error(&f->lab), "fake c: did not start");
	lab_service_stop_all(&f->lab);
	/* c cleans up its half-done start; bare, after it, never started */
	assert_string_equal(calls, "a:init b:init c:init a:start c:start c:stop a:stop");
	fixture_free(f);
}

static void test_health_and_netns(void **state)
{
	struct fixture *f = fixture_new();
	struct fake_state *a = lab_service_state(&f->lab, &fake_a);
	struct fake_state *b = lab_service_state(&f->lab, &fake_b);
	char msg[512] = "vm \"x\" is dead";
	size_t off = strlen(msg);
	json_t *netns = json_array();
	struct stat st;

	(void)state;
	assert_int_equal(lab_service_health(&f->lab, msg, sizeof(msg), &off), 0);
	a->fail_health = 1;
	b->fail_health = 1; /* not wanted: never asked */
	assert_int_equal(lab_service_health(&f->lab, msg, sizeof(msg), &off), -EPIPE);
	assert_string_equal(msg, "vm \"x\" is dead; fake a died after the checks");
	a->fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	b->fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(a->fd >= 0 && b->fd >= 0);
	assert_int_equal(fstat(a->fd, &st), 0);
	lab_service_netns(&f->lab, netns);
	assert_int_equal(json_array_size(netns), 1);
	assert_int_equal(json_integer_value(json_array_get(netns, 0)), (json_int_t)st.st_ino);
	json_decref(netns);
	fixture_free(f);
}

static void test_too_many_vhost_user_devices(void **state)
{
	struct fixture *f = fixture_new();
	struct qemu_vm_spec spec = { .n_vhost_user = QEMU_MAX_VHOST_USER - 1 };

	(void)state;
	assert_int_equal(lab_service_vm_argv(&f->vm, &spec), -ENOSPC);
	assert_string_equal(lab_error(&f->lab), "vm \"vm1\": fake c: too many vhost-user devices");
	fixture_free(f);
}

static void test_role_marks_and_state(void **state)
{
	struct fixture *f = fixture_new();
	int i;

	(void)state;
	for (i = 0; i < LAB_PLUGIN_MAX_MARKS; i++)
		assert_int_equal(lab_plugin_vm_mark(&f->vm, "step", NULL), 0);
	assert_int_equal(lab_plugin_vm_mark(&f->vm, "one-too-many", NULL), -ENOSPC);
	assert_ptr_equal(lab_plugin_vm_find(&f->lab, "vm1"), &f->vm);
	assert_null(lab_plugin_vm_find(&f->lab, "vm2"));
	assert_null(lab_plugin_vm(&f->lab, 1));
	assert_string_equal(lab_plugin_vm_tap(&f->vm, 0), "vm1-eth0");
	assert_null(lab_plugin_vm_tap(&f->vm, 1));
	lab_plugin_vm_set_role_state(&f->vm, strdup("x"), free);
	lab_plugin_vm_set_role_state(&f->vm, strdup("y"), free); /* frees "x" */
	assert_string_equal(lab_plugin_vm_role_state(&f->vm), "y");
	free(f->vm.role_state);
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle_in_order),
		cmocka_unit_test(test_failed_start_still_stops),
		cmocka_unit_test(test_health_and_netns),
		cmocka_unit_test(test_too_many_vhost_user_devices),
		cmocka_unit_test(test_role_marks_and_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
