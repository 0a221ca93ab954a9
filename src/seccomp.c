/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp.h"
#include "util.h"

#define X32_SYSCALL_BIT 0x40000000U
#define NR_IOCTL_I386   54U
#define NR_IOCTL_X32    (514U | X32_SYSCALL_BIT)

/* The request is an int to the kernel: compare the low 32 bits only, so
 * TIOCSTI | 1 << 32 is caught as well (little-endian: the low word first). */
#define ARG1_LO offsetof(struct seccomp_data, args[1])

int
seccomp_block_tty_inject(struct nsbox_err *err)
{
#if defined(__x86_64__)
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 6, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_IOCTL_X32, 5, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_IOCTL_I386, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* ioctl: the request */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG1_LO),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = ARRAY_SIZE(f), .filter = f};

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return nsbox_error(err, errno, "seccomp");
	return 0;
#else
	(void)err;
	return 0; /* other architectures: no filter yet (documented) */
#endif
}

/* --- the default denylist (security.seccomp = yes) --- */

struct bpf {
	struct sock_filter f[512];
	size_t n;
};

static void
emit(struct bpf *b, struct sock_filter f)
{
	if (b->n < ARRAY_SIZE(b->f))
		b->f[b->n++] = f;
}

#define LD_NR     BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARG(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))
#define RET(v)    BPF_STMT(BPF_RET | BPF_K, (v))

/* A = the syscall number, without x32's bit: x32 shares x86_64's numbers
 * for all the calls below. Two instructions. */
static void
load_nr(struct bpf *b)
{
	emit(b, (struct sock_filter)LD_NR);
	emit(b, (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~X32_SYSCALL_BIT));
}

static void
deny(struct bpf *b, unsigned nr, unsigned ret)
{
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
	emit(b, (struct sock_filter)RET(ret));
}

/* nr with flag set in argument arg: denied. */
static void
deny_flag(struct bpf *b, unsigned nr, int arg, unsigned flag, unsigned ret)
{
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 5));
	emit(b, (struct sock_filter)LD_ARG(arg));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, flag, 0, 1));
	emit(b, (struct sock_filter)RET(ret));
	load_nr(b);
}

/* socket(AF_NETLINK, *, NETLINK_AUDIT): the audit log is the host's. */
static void
deny_audit(struct bpf *b, unsigned nr)
{
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 7));
	emit(b, (struct sock_filter)LD_ARG(0));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 3));
	emit(b, (struct sock_filter)LD_ARG(2));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NETLINK_AUDIT, 0, 1));
	emit(b, (struct sock_filter)RET(SECCOMP_RET_ERRNO | EAFNOSUPPORT));
	load_nr(b);
}

/* ioctl(*, TIOCSTI or TIOCLINUX) on the low 32 bits of the request:
 * what seccomp_block_tty_inject refuses, so that one filter does both. */
static void
deny_tty_inject(struct bpf *b, unsigned nr)
{
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 6));
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG1_LO));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 1));
	emit(b, (struct sock_filter)RET(SECCOMP_RET_ERRNO | EPERM));
	load_nr(b);
}

/* The same list for one architecture's numbers. */
struct table {
	unsigned denied[24];
	unsigned mount[16]; /* denied unless the container may mount */
	unsigned clone, unshare, clone3, socket;
	unsigned ioctl[2]; /* x32's without its bit, as load_nr leaves it */
};

static const struct table x86_64 = {
	/* add_key request_key keyctl bpf perf_event_open kexec_load
	 * kexec_file_load open_by_handle_at init_module finit_module
	 * delete_module userfaultfd quotactl quotactl_fd */
	{248, 249, 250, 321, 298, 246, 320, 304, 175, 313, 176, 323, 179, 443},
	/* mount umount2 pivot_root open_tree move_mount fsopen fsconfig
	 * fsmount fspick mount_setattr */
	{165, 166, 155, 428, 429, 430, 431, 432, 433, 442},
	56,
	272,
	435,
	41,
	{16, NR_IOCTL_X32 & ~X32_SYSCALL_BIT},
};

static const struct table i386 = {
	{286, 287, 288, 357, 336, 283, 0, 342, 128, 350, 129, 374, 131, 443},
	{21, 52, 217, 428, 429, 430, 431, 432, 433, 442},
	120,
	310,
	435,
	359,
	{NR_IOCTL_I386, 0},
};

static void
arch_rules(struct bpf *b, const struct table *t, bool mounts)
{
	load_nr(b);
	for (size_t i = 0; i < ARRAY_SIZE(t->denied); i++)
		if (t->denied[i]) /* 0: none on this architecture */
			deny(b, t->denied[i], SECCOMP_RET_ERRNO | EPERM);
	for (size_t i = 0; !mounts && i < ARRAY_SIZE(t->mount); i++)
		if (t->mount[i])
			deny(b, t->mount[i], SECCOMP_RET_ERRNO | EPERM);
	/* no nested user namespaces: the kernel's widest attack surface */
	deny_flag(b, t->clone, 0, CLONE_NEWUSER, SECCOMP_RET_ERRNO | EPERM);
	deny_flag(b, t->unshare, 0, CLONE_NEWUSER, SECCOMP_RET_ERRNO | EPERM);
	/* clone3's flags are in memory, out of reach: ENOSYS, and libc falls
	 * back to clone, whose flags are checked */
	deny(b, t->clone3, SECCOMP_RET_ERRNO | ENOSYS);
	deny_audit(b, t->socket);
	for (size_t i = 0; i < ARRAY_SIZE(t->ioctl); i++)
		if (t->ioctl[i])
			deny_tty_inject(b, t->ioctl[i]);
	emit(b, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
}

int
seccomp_default_filter(bool mounts, struct nsbox_err *err)
{
#if defined(__x86_64__)
	struct bpf b = {0};
	size_t jump_i386;
	struct sock_fprog prog;

	emit(&b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch)));
	/* x86_64 (and x32) falls through; i386 jumps; others pass */
	emit(&b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 2, 0));
	jump_i386 = b.n;
	emit(&b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 0));
	emit(&b, (struct sock_filter)RET(SECCOMP_RET_ALLOW));
	arch_rules(&b, &x86_64, mounts);
	b.f[jump_i386].jt = (unsigned char)(b.n - jump_i386 - 1);
	b.f[jump_i386].jf = 0;
	arch_rules(&b, &i386, mounts);
	if (b.n == ARRAY_SIZE(b.f) || b.n - jump_i386 > 255)
		return nsbox_error(err, 0, "seccomp: the filter is too long");
	prog = (struct sock_fprog){.len = (unsigned short)b.n, .filter = b.f};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return nsbox_error(err, errno, "seccomp");
	return 0;
#else
	(void)mounts;
	return nsbox_error(err, 0, "security.seccomp: no default filter for this architecture");
#endif
}
