/* SPDX-License-Identifier: MIT */
/* lab_service.c: drive a run's host services through their service_ops hooks. */
#include "lab/lab_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "services/service.h"

int lab_service_create(struct lab *lab)
{
	const struct service_ops *const *reg = lab->opts.services;
	size_t n = lab->opts.n_services, i;

	if (!reg)
		reg = services_registry(&n);
	lab->svc = calloc(n ? n : 1, sizeof(*lab->svc));
	if (!lab->svc)
		return -ENOMEM;
	lab->n_svc = n;
	for (i = 0; i < n; i++) {
		struct lab_service *s = &lab->svc[i];

		s->ops = reg[i];
		s->wanted = s->ops->wanted(lab->plan);
		if (s->ops->state_size && !(s->state = calloc(1, s->ops->state_size)))
			return -ENOMEM;
		if (s->ops->init)
			s->ops->init(lab, s->state);
	}
	return 0;
}

void *lab_service_state(const struct lab *lab, const struct service_ops *ops)
{
	size_t i;

	for (i = 0; i < lab->n_svc; i++)
		if (lab->svc[i].ops == ops)
			return lab->svc[i].state;
	return NULL;
}

int lab_service_wanted(const struct lab *lab, const struct service_ops *ops)
{
	size_t i;

	for (i = 0; i < lab->n_svc; i++)
		if (lab->svc[i].ops == ops)
			return lab->svc[i].wanted;
	return 0;
}

int lab_service_start_all(struct lab *lab)
{
	size_t i;
	int ret;

	for (i = 0; i < lab->n_svc; i++) {
		struct lab_service *s = &lab->svc[i];

		if (!s->wanted)
			continue;
		s->started = 1; /* stop() also cleans up a start that failed half-way */
		if (s->ops->start && (ret = s->ops->start(lab, s->state)) < 0)
			return ret;
	}
	return 0;
}

int lab_service_vm_argv(struct lab_vm *vm, struct qemu_vm_spec *spec)
{
	struct lab *lab = vm->lab;
	size_t i;
	int ret;

	for (i = 0; i < lab->n_svc; i++) {
		struct lab_service *s = &lab->svc[i];

		if (s->wanted && s->ops->vm_argv && (ret = s->ops->vm_argv(lab, s->state, vm, spec)) < 0) {
			if (ret != -ENOSPC)
				return ret;
			lab_set_err(lab, "vm \"%s\": %s: too many vhost-user devices", vm->pvm->name,
				    s->ops->name);
			return ret;
		}
	}
	return 0;
}

int lab_service_vm_taps(struct lab_vm *vm)
{
	struct lab *lab = vm->lab;
	size_t i;
	int ret;

	for (i = 0; i < lab->n_svc; i++) {
		struct lab_service *s = &lab->svc[i];

		if (s->wanted && s->ops->vm_taps && (ret = s->ops->vm_taps(lab, s->state, vm)) < 0)
			return ret;
	}
	return 0;
}

int lab_plugin_service_netns(const struct lab *lab, size_t k, const char **name)
{
	const struct lab_service *s;

	if (k >= lab->n_svc)
		return -ENOENT;
	s = &lab->svc[k];
	*name = s->ops->name;
	if (!s->wanted || !s->started || !s->ops->netns_fd)
		return -1;
	return s->ops->netns_fd(lab, s->state);
}

void lab_service_netns(const struct lab *lab, json_t *netns)
{
	struct stat st;
	size_t i;
	int fd;

	for (i = 0; i < lab->n_svc; i++) {
		const struct lab_service *s = &lab->svc[i];

		if (!s->wanted || !s->ops->netns_fd || (fd = s->ops->netns_fd(lab, s->state)) < 0)
			continue;
		if (fstat(fd, &st) == 0)
			json_array_append_new(netns, json_integer((json_int_t)st.st_ino));
	}
}

int lab_service_health(struct lab *lab, char *msg, size_t len, size_t *off)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < lab->n_svc; i++) {
		struct lab_service *s = &lab->svc[i];

		if (!s->wanted || !s->ops->health || s->ops->health(lab, s->state) >= 0)
			continue;
		if (*off < len)
			*off += (size_t)snprintf(msg + *off, len - *off, "%s%.400s after the checks",
						 *off ? "; " : "", lab->err);
		ret = -EPIPE;
	}
	return ret;
}

int lab_service_dead(struct lab *lab, int or_silent, char *msg, size_t len)
{
	size_t i;
	int ret;

	for (i = 0; i < lab->n_svc; i++) {
		struct lab_service *s = &lab->svc[i];

		if (!s->wanted || !s->started || !s->ops->health)
			continue;
		ret = s->ops->health(lab, s->state);
		if (ret == -EPIPE || (or_silent && ret < 0)) {
			snprintf(msg, len, "%s", lab->err);
			return 1;
		}
	}
	return 0;
}

void lab_service_stop_all(struct lab *lab)
{
	size_t i;

	for (i = lab->n_svc; i-- > 0;) {
		struct lab_service *s = &lab->svc[i];

		if (s->started && s->ops->stop)
			s->ops->stop(lab, s->state);
		s->started = 0;
	}
}

void lab_service_destroy(struct lab *lab)
{
	size_t i;

	for (i = 0; lab->svc && i < lab->n_svc; i++) {
		if (lab->svc[i].ops->destroy && lab->svc[i].state)
			lab->svc[i].ops->destroy(lab->svc[i].state);
		free(lab->svc[i].state);
	}
	free(lab->svc);
	lab->svc = NULL;
	lab->n_svc = 0;
}
