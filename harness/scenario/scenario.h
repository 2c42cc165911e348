/* SPDX-License-Identifier: MIT */
/* scenario.h: the typed model of what the user wrote in a scenario file.
 *
 * A scenario is exactly what the YAML says, validated, with the file position of
 * every element kept so that later stages (plan) can still point at the user's
 * text. Nothing here is derived: addresses, MACs and start order live in plan.h.
 */
#ifndef UVMLAB_SCENARIO_H
#define UVMLAB_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

/* How many elements a scenario may have: they keep every loop over names
 * quadratic-but-tiny and bound what a hostile file can make us allocate. */
#define SCN_MAX_VMS          64u
#define SCN_MAX_NETWORKS     64u
#define SCN_MAX_CHECKS       256u
#define SCN_MAX_NICS         8u

/* A position in the scenario file, 1-based. line == 0 means "no position". */
struct scn_loc {
	uint32_t line;
	uint32_t col;
};

/* One diagnostic: the first error found. Rendered by scn_diag_format() as
 * "FILE:LINE:COL: MESSAGE" with " (hint: HINT)" appended when a hint is set. */
struct scn_diag {
	char file[512];
	struct scn_loc loc;
	char msg[512];
	char hint[256];
};

enum scn_accel { SCN_ACCEL_AUTO = 0, SCN_ACCEL_KVM, SCN_ACCEL_TCG };
enum scn_machine { SCN_MACHINE_MICROVM = 0, SCN_MACHINE_Q35, SCN_MACHINE_PC };
enum scn_expect { SCN_EXPECT_ALLOWED = 0, SCN_EXPECT_BLOCKED };
enum scn_proto { SCN_PROTO_ICMP = 0, SCN_PROTO_TCP, SCN_PROTO_UDP, SCN_PROTO_ANY };
enum scn_kernel { SCN_KERNEL_LAB = 0, SCN_KERNEL_STOCK };     /* our lab kernel (default) / Debian's */
enum scn_boot { SCN_BOOT_BZIMAGE = 0, SCN_BOOT_PVH };         /* compressed bzImage / vmlinux via PVH */
enum scn_console { SCN_CONSOLE_ON = 0, SCN_CONSOLE_OFF };

/* A name referring to another element, with where the reference was written. */
struct scn_ref {
	char *name;
	struct scn_loc loc;
};

/* networks: NAME: { subnet: A.B.C.D/P, SERVICE-KEY: true } */
struct scn_network {
	char *name;
	struct scn_loc loc;         /* of the key NAME */
	uint32_t subnet;            /* network address, host byte order, host bits zero */
	uint8_t prefix;             /* 16..30 */
	struct scn_loc subnet_loc;  /* of the subnet value */
	uint32_t services;          /* bit N: host service N (scenario/schema.h) is
	                             * attached to this network by its network key */
};

/* filter: on a VM whose role forwards, what it forwards (nftables, hook forward):
 *   filter: { default: accept|drop, rules: [ { from?, to?, proto?, port?, action } ] }
 * Stateful: replies and related traffic of an accepted connection always pass
 * (ct state established,related accept comes first); the rules, in order,
 * decide the first packet of each connection; the first rule that matches
 * wins, and a packet no rule matches gets the default (accept when absent).
 * from/to name a VM of the scenario (every address the plan gives it, one per
 * NIC) or a network (its subnet); absent means any source / destination.
 * proto any (default) | icmp | tcp | udp; port (destination, 1..65535) only
 * with tcp or udp. The VM's own traffic is not forwarded and is not
 * filtered. scenarios/FORMAT.md is the user-facing copy. */
enum scn_filter_action { SCN_FILTER_ACCEPT = 0, SCN_FILTER_DROP };

/* One rule. A from/to ref with name NULL means "any"; which of VM or network
 * it names is settled when the scenario is validated (a name may not be both). */
struct scn_filter_rule {
	struct scn_loc loc;         /* of the list item */
	struct scn_ref from, to;
	enum scn_proto proto;       /* default any */
	uint16_t port;              /* 0 = any port */
	struct scn_loc port_loc;    /* of the port key, when given */
	enum scn_filter_action action;
};

struct scn_filter {
	struct scn_loc loc;         /* of the filter key */
	enum scn_filter_action dflt;/* default accept */
	struct scn_filter_rule *rules;
	size_t n_rules;
};

/* vms: NAME: { role, nics, depends_on, machine, memory, vcpus, ..., role keys } */
struct scn_vm {
	char *name;
	struct scn_loc loc;
	unsigned int role;               /* index in scn_role_schemas[], default 0 */
	struct scn_ref *nics;            /* network names, in NIC order (eth0, eth1...) */
	size_t n_nics;
	struct scn_ref *depends_on;      /* VM names that must be ready first */
	size_t n_depends_on;
	int has_machine;                 /* 0: use scenario lab.machine */
	enum scn_machine machine;
	uint32_t memory_mib;             /* 0: default (plan decides) */
	uint32_t vcpus;                  /* 0: default 1 */
	/* Boot-shaping knobs, mostly for boot benchmarks (scenarios/boot-matrix.yaml). */
	enum scn_kernel kernel;          /* default stock */
	int has_boot;                    /* 0: bzimage for stock, pvh for lab */
	enum scn_boot boot;
	struct scn_loc boot_loc;         /* of the boot value */
	enum scn_console console;        /* default on */
	uint32_t initramfs_pad_mib;      /* extra incompressible MiB appended to the initramfs */
	unsigned int role_opt;           /* a role's option key, e.g. a mode (0: default) */
	int has_filter;                  /* filter: given (a role key) */
	struct scn_filter filter;
};

/* checks: - { name?, KIND: { ... }, expect?, while_stopped? }
 * KIND is the key of one of the check kinds (scn_check_schemas[], defined
 * in checks/check_schemas.c, whose header documents each kind's keys).
 * Any check may add while_stopped: VM (that VM is paused during the check),
 * unless its kind judges the whole run. "host" (SCN_HOST) and the names host
 * services provide (scenario/schema.h) may stand where a kind allows it. */
#define SCN_HOST "host"
struct scn_check {
	unsigned int kind;          /* index in scn_check_schemas[] */
	char *name;                 /* user's name, or generated "KIND-FROM-TO" */
	struct scn_loc loc;         /* of the list item */
	struct scn_ref from;        /* a VM */
	struct scn_ref to;          /* a VM, or what the kind targets */
	struct scn_ref network;     /* optional (name NULL): which of to's addresses */
	enum scn_proto proto;       /* default icmp */
	struct scn_loc proto_loc;   /* of the proto value, when given */
	uint16_t port;              /* tcp and vsock, 1..65535 */
	uint32_t bytes;             /* vsock: bytes to move (default 1 MiB) */
	char *target;               /* a URL or host name, for kinds that take one */
	struct scn_ref while_stopped;/* optional VM paused while the check runs */
	enum scn_expect expect;
	char **users;               /* allowed owners of traffic (user names) */
	size_t n_users;
	char **procs;               /* allowed owners of traffic (process names, comm) */
	size_t n_procs;
	int allow_empty;            /* kinds judged over the run: silence is a pass */
};

/* policy: { allow: [ { from, to, proto? } ] } : IP flows delivered between VMs
 * that the flow recorder may observe; everything else is a violation. */
struct scn_policy_rule {
	struct scn_loc loc;
	struct scn_ref from, to;    /* VM names, or a name a host service provides */
	enum scn_proto proto;       /* any (default), icmp, tcp, udp */
};

/* vsock: { allow: [[a, b], ...] } : sibling pairs that may connect by CID */
struct scn_vsock_pair {
	struct scn_ref a, b;
};

/* lab: { limits: { memory, pids, cpus } }: what the run's cgroup may use.
 * A limit not written is not set (has_* 0). */
#define SCN_LIMIT_MEMORY_MIN (16ull << 20)        /* 16M */
#define SCN_LIMIT_MEMORY_MAX (1ull << 40)         /* 1T */
#define SCN_LIMIT_PIDS_MAX 4194304u               /* the kernel's PID_MAX_LIMIT */
#define SCN_LIMIT_CPUS_MILLI_MIN 10u              /* 0.01 CPU: the kernel's 1 ms quota */
#define SCN_LIMIT_CPUS_MILLI_MAX 1024000u         /* 1024 CPUs */
struct scn_limits {
	int has_memory, has_pids, has_cpus;
	uint64_t memory_bytes;      /* 16M..1T */
	uint32_t pids;              /* 1..SCN_LIMIT_PIDS_MAX, threads included */
	uint32_t cpus_milli;        /* CPUs x 1000, 10..1024000 */
};
/* Bytes of a VM's console log kept when lab.console_log_max is not given. */
#define SCN_CONSOLE_LOG_MAX (4u << 20)

/* The whole file. */
struct scenario {
	char *path;                 /* as given to scenario_load() */
	char *name;                 /* required, [a-z0-9-], max 32 chars */
	char *description;          /* optional */
	uint8_t sha256[32];         /* of the file's bytes */

	/* lab: { accel, machine, boot_timeout, limits, console_log_max } */
	enum scn_accel accel;       /* default auto */
	enum scn_machine machine;   /* default microvm */
	uint32_t boot_timeout_s;    /* default 0 = plan decides */
	struct scn_limits limits;   /* lab.limits: the run's cgroup */
	uint32_t console_log_max;   /* bytes kept per console log; 0 = SCN_CONSOLE_LOG_MAX */

	struct scn_network *networks;
	size_t n_networks;
	struct scn_vm *vms;
	size_t n_vms;
	struct scn_check *checks;
	size_t n_checks;

	/* vsock: present means every VM gets a vsock device */
	int has_vsock;
	struct scn_vsock_pair *vsock_allow;
	size_t n_vsock_allow;

	/* fixtures: [SERVICE, ...]: bit N asks for host service N (scenario/schema.h) */
	uint32_t services;
	struct scn_loc services_loc;

	/* policy: present means observed flows are judged against the rules */
	int has_policy;
	struct scn_policy_rule *policy;
	size_t n_policy;

	/* measure: { boot: { repeat: N } } ; 0 when absent */
	uint32_t boot_repeat;
};

/* Parse and validate the scenario file at PATH into *OUT.
 * Returns 0 on success (*OUT owned by caller, free with scenario_free()).
 * On a scenario error returns -EINVAL and fills DIAG (first error only).
 * On an I/O error returns the negative errno and fills DIAG (loc line 0).
 * Validation covers syntax, unknown keys (with "did you mean" hints), types,
 * ranges, duplicate names, references to unknown networks/VMs and overlapping
 * or out-of-range subnets. Dependency cycles are found by plan_build(). */
int scenario_load(const char *path, struct scenario **out, struct scn_diag *diag);

/* Same as scenario_load() on an in-memory buffer; NAME is used in diagnostics
 * and kept as path. Used by tests and the fuzzer. */
int scenario_parse(const char *name, const char *buf, size_t len,
		   struct scenario **out, struct scn_diag *diag);

/* Free a scenario and everything it owns; NULL is fine. */
void scenario_free(struct scenario *scn);

/* Render DIAG as one line "FILE:LINE:COL: MSG (hint: HINT)" into BUF. */
void scn_diag_format(const struct scn_diag *diag, char *buf, size_t len);

/* Set DIAG's message printf-style at LOC (file already set). Returns -EINVAL
 * so callers can `return scn_diag_set(...)`. */
int scn_diag_set(struct scn_diag *diag, struct scn_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Lookups by name; NULL / -1 when absent. */
const struct scn_vm *scenario_find_vm(const struct scenario *scn, const char *name);
const struct scn_network *scenario_find_network(const struct scenario *scn,
						const char *name);

const char *scn_machine_name(enum scn_machine m);
const char *scn_accel_name(enum scn_accel a);
/* The name of role ID (scn_role_schemas[]), or "?". */
const char *scn_role_name(unsigned int id);
const char *scn_kernel_name(enum scn_kernel k);
const char *scn_boot_name(enum scn_boot b);
const char *scn_proto_name(enum scn_proto p);
const char *scn_filter_action_name(enum scn_filter_action a);

#endif
