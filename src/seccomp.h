/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_SECCOMP_H
#define NSBOX_SECCOMP_H

#include <stdbool.h>

#include "err.h"

/* Refuse TIOCSTI and TIOCLINUX (EPERM) for good, on x86_64, x32 and i386:
 * whatever terminal the payload holds, it cannot push input into it
 * (bubblewrap does the same, CVE-2017-5226). Needs CAP_SYS_ADMIN or
 * no_new_privs. */
int seccomp_block_tty_inject(struct nsbox_err *err);

/* security.seccomp = yes, on x86_64, x32 and i386: EPERM for the keyring,
 * bpf, perf_event_open, kexec, module loading, open_by_handle_at,
 * userfaultfd and quotactl; for mounting unless mounts (the container may
 * mount: CAP_SYS_ADMIN); for clone and unshare with CLONE_NEWUSER; ENOSYS
 * for clone3; EAFNOSUPPORT for audit netlink sockets; and what
 * seccomp_block_tty_inject refuses, so that it need not come on top. */
int seccomp_default_filter(bool mounts, struct nsbox_err *err);

#endif
