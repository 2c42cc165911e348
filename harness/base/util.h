/* SPDX-License-Identifier: MIT */
/* util.h: small helpers shared by the orchestrator: clocks, files, sockets, logging. */
#ifndef UVMLAB_UTIL_H
#define UVMLAB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UTIL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* CLOCK_MONOTONIC in nanoseconds: the one host clock every timeline uses. */
uint64_t util_mono_ns(void);

/* Progress and error output. util_progress() prints only when stderr is a
 * terminal or UVMLAB_PROGRESS=1, so CI logs stay quiet; util_err() always. */
void util_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void util_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int util_progress_enabled(void);
/* Both escape their whole message with util_escape(): a file name or guest
 * text holding a newline or ESC cannot split the line or reach the terminal. */

/* Copy LEN bytes of S into OUT (OUT_LEN bytes, always NUL-terminated when
 * OUT_LEN > 0) so that it is one printable line: \n, \r and \t as those
 * two-character escapes, every other control byte (C0, DEL), every C1
 * control (U+0080..U+009F) and every byte that is not part of valid UTF-8 as
 * \xHH; printable ASCII (a backslash too) and valid UTF-8 pass unchanged, so
 * escaping twice changes nothing: a message may hold text escaped already
 * (lab_error(), a quoted scenario value). An escape or UTF-8 sequence is
 * never cut: on truncation the output ends with "..." where room allows.
 * Returns 0, or -ENOSPC when truncated. Pure. */
int util_escape(const char *s, size_t len, char *out, size_t out_len);

/* mkdir -p with MODE. 0 or negative errno. */
int util_mkdir_p(const char *path, mode_t mode);
/* mkdir -p of PATH's parents, then PATH itself exclusively: -EEXIST when
 * anything (a folder, a file, a symlink) is already there. For folders that
 * one run owns, so that two runs never share one. */
int util_mkdir_new(const char *path, mode_t mode);
/* Open PATH for writing (0644, close-on-exec) without following a symlink:
 * APPEND 0 creates it exclusively (-EEXIST if present), APPEND 1 creates or
 * appends. The fd, or negative errno (-ELOOP for a symlink). */
int util_open_new(const char *path, int append);
/* rm -rf PATH (does not follow symlinks). 0 or negative errno; absent is 0. */
int util_rm_rf(const char *path);
/* Read at most MAX bytes of PATH into a malloc'd NUL-terminated *BUF. */
int util_read_file(const char *path, size_t max, char **buf, size_t *len);
/* Write LEN bytes to PATH atomically (temp file + rename; the temp file is
 * created exclusively and never through a symlink). */
int util_write_file(const char *path, const void *data, size_t len);
/* sha256 of PATH's bytes as 64 lowercase hex chars + NUL. */
int util_sha256_file(const char *path, char hex[65]);
void util_hex(const uint8_t *in, size_t len, char *out);

/* Close-on-exec on or off. */
int util_set_cloexec(int fd, int on);
/* Bind+listen a Unix stream socket at PATH (unlinks a stale one). */
int util_unix_listen(const char *path, int *fd);
/* Accept one connection on LFD (non-blocking result fd, cloexec). */
int util_unix_accept(int lfd, int *fd);

/* The host's TSC rate in kHz, measured against CLOCK_MONOTONIC (~20 ms). 0 if
 * it cannot be measured. Under TCG the guest TSC runs at the host's rate. */
uint64_t util_host_tsc_khz(void);

/* Process start time (field 22 of /proc/PID/stat) so a recorded pid can be
 * told apart from a recycled one. 0 if the process does not exist. */
uint64_t util_proc_starttime(pid_t pid);
/* PID's state letter from /proc/PID/stat ('R', 'S', 'T' stopped, 'Z', ...),
 * or 0 when there is no such process. */
char util_proc_state(pid_t pid);
/* utime + stime of PID in milliseconds; -1 if unknown. */
int64_t util_proc_cpu_ms(pid_t pid, int64_t *user_ms, int64_t *sys_ms);

/* The last non-empty line of S (may be NULL), trimmed, into BUF: a tool's
 * summary line, for one-line evidence. */
void util_last_line(const char *s, char *buf, size_t len);

/* Copy SRC into DST (size LEN) always NUL-terminating; -ENAMETOOLONG if cut. */
int util_strlcpy(char *dst, const char *src, size_t len);

#endif
