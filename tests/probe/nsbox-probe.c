/* SPDX-License-Identifier: BSD-2-Clause */
/* nsbox-probe: what a payload sees, for the integration tests. Static, so
 * it runs in the busybox fixture root. One subcommand per check:
 *   tiocsti FD TEXT  push TEXT into the input of the terminal on FD
 *   tiocsti-hi FD TEXT  the same with bit 32 of the request set, which the
 *                    kernel drops (it takes the request as an int)
 *   tioclinux FD     TIOCLINUX's harmless TIOCL_GETSHIFTSTATE on FD
 *   filters          print how many seccomp filters the process has
 *   winsize          print the rows and columns of stdin's terminal
 *   zombies N        leave N orphans that exit at once
 *   sig-wait         print each of INT TERM HUP QUIT USR1 USR2 WINCH as it
 *                    arrives; exit 0 on TERM
 *   userns           try to make a nested user namespace
 *   no-openat2 CMD.. run CMD with openat2 failing with ENOSYS (seccomp), so
 *                    nsbox takes its fallback path resolution
 *   alloc MB         allocate and touch MB megabytes, then print "allocated"
 *   forks N          start N children that sleep; print how many started
 *                    and the first error
 *   syscall NAME     make that call with harmless arguments and print
 *                    "NAME: ok" or its error (keyctl, bpf, perf_event_open,
 *                    add_key, init_module, userfaultfd, clone3, mount,
 *                    unshare-user, audit-socket)
 *   watch-exe DEV:INO N  watch /proc until N other processes have come and
 *                    gone (or 60 s): try to open each one's exe (O_PATH),
 *                    as an attacker racing nsbox exec would; print
 *                    "seen S opened O nsbox K": the processes seen, the exes
 *                    opened, and those that were the file DEV:INO (the
 *                    host's nsbox, from stat -c %d:%i)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* TIOCSTI, or with hi the same request with bit 32 set (the raw syscall:
 * glibc's ioctl takes the request as an unsigned long too). */
static int
tiocsti(int fd, const char *text, bool hi)
{
	const char *name = hi ? "tiocsti-hi" : "tiocsti";
	unsigned long req = (unsigned long)TIOCSTI | (hi ? 1UL << 32 : 0);

	for (const char *p = text; *p; p++) {
		if (syscall(SYS_ioctl, fd, req, p) < 0) {
			printf("%s: %s\n", name, strerror(errno));
			return 1;
		}
	}
	printf("%s: injected\n", name);
	return 0;
}

static int
tioclinux(int fd)
{
	char arg[2] = {6 /* TIOCL_GETSHIFTSTATE */, 0};

	if (ioctl(fd, TIOCLINUX, arg) < 0) {
		printf("tioclinux: %s\n", strerror(errno));
		return 1;
	}
	printf("tioclinux: ok\n");
	return 0;
}

static int
filters(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Seccomp_filters:", 16)) {
			printf("%d\n", atoi(line + 16));
			return 0;
		}
	printf("filters: unknown\n");
	return 1;
}

static int
zombies(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0) {
			if (fork() == 0)
				_exit(0); /* the grandchild: an orphan of the init */
			_exit(0);
		}
		if (p > 0)
			while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
				;
	}
	return 0;
}

static int
sig_wait(void)
{
	static const struct {
		int sig;
		const char *name;
	} s[] = {{SIGINT, "INT"},   {SIGTERM, "TERM"}, {SIGHUP, "HUP"},    {SIGQUIT, "QUIT"},
		 {SIGUSR1, "USR1"}, {SIGUSR2, "USR2"}, {SIGWINCH, "WINCH"}};
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		sigaddset(&set, s[i].sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int sig;

		if (sigwait(&set, &sig) != 0)
			return 1;
		for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
			if (s[i].sig == sig)
				printf("%s\n", s[i].name);
		fflush(stdout);
		if (sig == SIGTERM)
			return 0;
	}
}

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static int
no_openat2(char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (getuid() != 0)
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("seccomp");
		return 125;
	}
	execvp(argv[0], argv);
	perror(argv[0]);
	return 127;
}

static int
alloc(long mb)
{
	for (long i = 0; i < mb; i++) {
		char *p = malloc(1 << 20);

		if (!p)
			return 1;
		memset(p, 1, 1 << 20); /* touched, so it counts */
	}
	printf("allocated\n");
	return 0;
}

static int
forks(int n)
{
	pid_t *kids = calloc((size_t)n, sizeof(*kids));
	int ok = 0, err = 0;

	for (int i = 0; kids && i < n; i++) {
		pid_t p = fork();

		if (p == 0) {
			sleep(5);
			_exit(0);
		}
		if (p < 0) {
			err = errno;
			break;
		}
		kids[ok++] = p;
	}
	printf("forks: %d%s%s\n", ok, err ? " " : "", err ? strerror(err) : "");
	for (int i = 0; i < ok; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	free(kids);
	return 0;
}

static int
call(const char *name)
{
	long r = -1;
	char buf[64] = "";

	errno = 0;
	if (!strcmp(name, "keyctl"))
		r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0);
	else if (!strcmp(name, "bpf"))
		r = syscall(SYS_bpf, 0, buf, 0);
	else if (!strcmp(name, "perf_event_open"))
		r = syscall(SYS_perf_event_open, buf, 0, -1, -1, 0);
	else if (!strcmp(name, "add_key"))
		r = syscall(SYS_add_key, "user", "nsbox", "x", 1, -2);
	else if (!strcmp(name, "init_module"))
		r = syscall(SYS_init_module, buf, 0, "");
	else if (!strcmp(name, "userfaultfd"))
		r = syscall(SYS_userfaultfd, 0);
	else if (!strcmp(name, "clone3"))
		r = syscall(435, NULL, 0);
	else if (!strcmp(name, "mount"))
		r = syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL);
	else if (!strcmp(name, "unshare-user"))
		r = unshare(CLONE_NEWUSER);
	else if (!strcmp(name, "audit-socket"))
		r = socket(16 /* AF_NETLINK */, 3 /* SOCK_RAW */, 9 /* NETLINK_AUDIT */);
	else
		return 2;
	printf("%s: %s\n", name, r >= 0 ? "ok" : strerror(errno));
	return 0;
}

/* A pid seen, to count each process once (pids are not reused within a
 * watch: the namespace's counter only grows). */
static bool
seen_add(long *seen, size_t *n, size_t cap, long pid)
{
	for (size_t i = 0; i < *n; i++)
		if (seen[i] == pid)
			return false;
	if (*n < cap)
		seen[(*n)++] = pid;
	return true;
}

static int
watch_exe(const char *devino, int want)
{
	unsigned long long dev, ino;
	static long seen[4096];
	size_t n_seen = 0;
	int opened = 0, nsbox = 0, gone = 0;
	long self = (long)getpid();
	time_t until = time(NULL) + 60;

	if (sscanf(devino, "%llu:%llu", &dev, &ino) != 2)
		return 2;
	while (gone < want && time(NULL) < until) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		size_t live = 0;
		static long now[4096];

		if (!d)
			return 2;
		while ((de = readdir(d))) {
			char path[64];
			long pid = strtol(de->d_name, NULL, 10);
			struct stat st;
			int fd;

			if (pid <= 0 || pid == self)
				continue;
			if (live < 4096)
				now[live++] = pid;
			seen_add(seen, &n_seen, 4096, pid);
			snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
			fd = open(path, O_PATH | O_CLOEXEC);
			if (fd < 0)
				continue;
			opened++;
			if (fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
				nsbox++;
			close(fd);
		}
		closedir(d);
		/* gone: seen once and no longer there (pid 1 stays) */
		gone = 0;
		for (size_t i = 0; i < n_seen; i++) {
			bool there = false;

			for (size_t k = 0; k < live && !there; k++)
				there = now[k] == seen[i];
			gone += !there;
		}
	}
	printf("seen %zu opened %d nsbox %d\n", n_seen, opened, nsbox);
	return gone >= want ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct winsize ws;

	if (argc >= 4 && !strcmp(argv[1], "tiocsti"))
		return tiocsti(atoi(argv[2]), argv[3], false);
	if (argc >= 4 && !strcmp(argv[1], "tiocsti-hi"))
		return tiocsti(atoi(argv[2]), argv[3], true);
	if (argc >= 3 && !strcmp(argv[1], "tioclinux"))
		return tioclinux(atoi(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "filters"))
		return filters();
	if (argc >= 2 && !strcmp(argv[1], "winsize")) {
		if (ioctl(0, TIOCGWINSZ, &ws) < 0)
			return 1;
		printf("%u %u\n", ws.ws_row, ws.ws_col);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "zombies"))
		return zombies(atoi(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "sig-wait"))
		return sig_wait();
	if (argc >= 3 && !strcmp(argv[1], "no-openat2"))
		return no_openat2(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "alloc"))
		return alloc(atol(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "forks"))
		return forks(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "syscall"))
		return call(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "watch-exe"))
		return watch_exe(argv[2], atoi(argv[3]));
	if (argc >= 2 && !strcmp(argv[1], "userns")) {
		if (unshare(CLONE_NEWUSER) < 0) {
			printf("userns: %s\n", strerror(errno));
			return 1;
		}
		printf("userns: created\n");
		return 0;
	}
	fprintf(stderr, "usage: nsbox-probe tiocsti[-hi] FD TEXT | tioclinux FD | filters | "
			"winsize | zombies N | sig-wait | "
			"userns | no-openat2 CMD... | alloc MB | forks N | syscall NAME | "
			"watch-exe DEV:INO N\n");
	return 2;
}
