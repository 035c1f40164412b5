/* The order that turns a pre-made sandbox shell into one function's
 * execution environment: one SOCK_SEQPACKET message from the daemon to
 * lambdad-init waiting in `-w` mode (on descriptor 3). Shared by the C init
 * and the C++ daemon, so plain C.
 *
 * The message is this header, then the seccomp filter's `filter_len`
 * instructions (struct sock_filter, 8 bytes each) if LAMBDAD_ORDER_SECCOMP
 * is set, then NUL-terminated strings: the cwd, the
 * bootstrap's `argc` arguments (the first its path), the `companions`
 * extensions' paths, the `envc` environment entries. Its descriptors
 * (SCM_RIGHTS), in this order: the output pipe (stdout and stderr), the
 * status pipe (the bootstrap's wait status, as descriptor 3 in plain
 * mode), /var/task's detached mount, then /opt's if LAMBDAD_ORDER_OPT is
 * set (else an empty tmpfs), then /var/runtime's if LAMBDAD_ORDER_RUNTIME
 * is set. The detached mounts are read-only, nosuid and nodev already. */
#ifndef LAMBDAD_SHELL_ORDER_H
#define LAMBDAD_SHELL_ORDER_H

#include <stdint.h>

#define LAMBDAD_ORDER_MAGIC 0x6c616d32u /* "lam2": with filter_len and the filter */
#define LAMBDAD_ORDER_MAX_BYTES (96 * 1024)
#define LAMBDAD_ORDER_MAX_FDS 5
#define LAMBDAD_ORDER_MAX_ARGS 60       /* the bootstrap's argv */
#define LAMBDAD_ORDER_MAX_COMPANIONS 60 /* extensions */
#define LAMBDAD_ORDER_MAX_ENV 4096
#define LAMBDAD_ORDER_MAX_FILTER 4096 /* BPF_MAXINSNS */

enum {
  LAMBDAD_ORDER_OPT = 1u << 0,       /* an /opt mount is sent */
  LAMBDAD_ORDER_RUNTIME = 1u << 1,   /* a /var/runtime mount is sent */
  LAMBDAD_ORDER_IDENTITY = 1u << 2,  /* become uid/gid (setgroups first) */
  LAMBDAD_ORDER_DROP_CAPS = 1u << 3, /* empty the capability bounding set */
  LAMBDAD_ORDER_NO_NEW_PRIVS = 1u << 4,
  LAMBDAD_ORDER_SECCOMP = 1u << 5, /* install the filter sent, last (needs NO_NEW_PRIVS) */
};

struct lambdad_order {
  uint32_t magic;
  uint32_t flags;
  uint32_t uid, gid;
  uint32_t tmp_mb; /* the size of the tmpfs at /tmp (ephemeral storage) */
  uint32_t argc;   /* >= 1 */
  uint32_t companions;
  uint32_t envc;
  uint32_t filter_len; /* instructions of the seccomp filter; 0 without */
};

#endif
