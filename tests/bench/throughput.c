/* SPDX-License-Identifier: BSD-2-Clause */
/* throughput: runs per second of commands under concurrent load, and the
 * machine's CPU per run.
 *
 *   throughput SECONDS ROUNDS STREAMS[,STREAMS...] CASEFILE
 *
 * CASEFILE is spawn-time's: a case a line, its name, then its argv,
 * tab-separated. A cell is one case at one concurrency: STREAMS threads,
 * each a loop of posix_spawn and wait4 of the case's command (standard
 * streams on /dev/null) until SECONDS have passed; a run under way then
 * is finished and counted. Each round runs every cell once, the cases of
 * each concurrency in an order rotated by the round, so that drift of the
 * machine's load falls on every case alike.
 *
 * CPU is the machine's, from /proc/stat: user+nice+system+irq+softirq+steal
 * jiffies over the cell, read again after a settle of 200 ms, so that what
 * a tool leaves running after it returned (bwrap's sandbox, the kernel's
 * deferred teardown of namespaces) is counted; wait4's rusage would miss
 * it. Work that other processes of the machine do is in it as well: each
 * round starts with a "background" cell, the same window with nothing
 * started, to show how much.
 *
 * On a machine that others load, the machine's count has their work in it
 * too. So when NSBOX_BENCH_CGROUP_CPU names a cgroup's CPU counter
 * (cgroup v1 cpuacct.usage, in ns; or v2 cpu.stat, usage_usec) of a
 * cgroup this program runs in, the CPU of the cell's own processes and
 * all they started is read from it as well (the kernel's deferred work,
 * such as a network namespace's cleanup in a kworker, is not in it).
 *
 * Output, a line a cell: ROUND CASE STREAMS RUNS ELAPSED_US BUSY_US OWN_US
 * (BUSY_US: the busy jiffies of the window, in microseconds of CPU;
 * OWN_US: the cgroup's CPU in the window, or -1 without one).
 * A run that exits non-zero is reported on standard error, and the case
 * is dropped from the next cells.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "casefile.h"

extern char **environ;

#define MAX_CASES   16
#define MAX_STREAMS 256

struct stream {
	pthread_t thread;
	const struct bcase *c;
	long long deadline_us;
	long runs;
	int failed;
};

static posix_spawn_file_actions_t devnull;

static long long
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* the busy jiffies of the machine, all CPUs, in microseconds of CPU */
static long long
busy_us(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f) {
		perror("throughput: /proc/stat");
		exit(1);
	}
	/* cpu user nice system idle iowait irq softirq steal */
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8) {
		fprintf(stderr, "throughput: /proc/stat: unexpected first line\n");
		exit(1);
	}
	return (long long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1000000 /
	       sysconf(_SC_CLK_TCK);
}

/* the CPU of our cgroup in microseconds, or -1 without one */
static long long
own_us(void)
{
	const char *path = getenv("NSBOX_BENCH_CGROUP_CPU");
	unsigned long long v = 0;
	char key[64];
	FILE *f;
	int ok = 0;

	if (!path || !*path || !(f = fopen(path, "re")))
		return -1;
	if (strstr(path, "cpu.stat")) {
		while (fscanf(f, "%63s %llu", key, &v) == 2)
			if (!strcmp(key, "usage_usec")) {
				ok = 1;
				break;
			}
	} else if (fscanf(f, "%llu", &v) == 1) {
		ok = 1;
		v /= 1000;
	}
	fclose(f);
	return ok ? (long long)v : -1;
}

static void *
stream_loop(void *arg)
{
	struct stream *s = arg;

	while (now_us() < s->deadline_us) {
		pid_t pid;
		int status = 0, e;

		e = posix_spawn(&pid, s->c->argv[0], &devnull, NULL, s->c->argv, environ);
		if (e == 0)
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
		if (e != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			s->failed = e ? e : -1;
			break;
		}
		s->runs++;
	}
	return NULL;
}

/* one cell: STREAMS loops of c (none for the background) for seconds */
static int
cell(int round, const struct bcase *c, int streams, int seconds)
{
	static struct stream s[MAX_STREAMS];
	long long t0, t1, b0, b1, o0, o1, deadline;
	long runs = 0;
	int failed = 0;

	b0 = busy_us();
	o0 = own_us();
	t0 = now_us();
	deadline = t0 + (long long)seconds * 1000000;
	for (int i = 0; i < streams; i++) {
		s[i] = (struct stream){.c = c, .deadline_us = deadline};
		if (pthread_create(&s[i].thread, NULL, stream_loop, &s[i]) != 0) {
			perror("throughput: pthread_create");
			exit(1);
		}
	}
	if (!streams)
		usleep((useconds_t)(deadline - t0));
	for (int i = 0; i < streams; i++) {
		pthread_join(s[i].thread, NULL);
		runs += s[i].runs;
		if (s[i].failed)
			failed = s[i].failed;
	}
	t1 = now_us();
	usleep(200000);
	b1 = busy_us();
	o1 = own_us();
	if (failed) {
		fprintf(stderr, "throughput: %s failed (%s)\n", c->name,
			failed > 0 ? strerror(failed) : "exit status");
		return -1;
	}
	printf("%d %s %d %ld %lld %lld %lld\n", round, c ? c->name : "background", streams, runs,
	       t1 - t0, b1 - b0, o0 < 0 || o1 < 0 ? -1 : o1 - o0);
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	struct bcase c[MAX_CASES];
	int conc[16], nconc = 0, seconds, rounds;
	size_t n;
	char *save = NULL;

	if (argc != 5 || (seconds = atoi(argv[1])) <= 0 || (rounds = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: throughput SECONDS ROUNDS STREAMS[,STREAMS...] CASEFILE\n");
		return 2;
	}
	for (char *t = strtok_r(argv[3], ",", &save); t && nconc < 16;
	     t = strtok_r(NULL, ",", &save))
		if ((conc[nconc++] = atoi(t)) <= 0 || conc[nconc - 1] > MAX_STREAMS) {
			fprintf(stderr, "throughput: streams: 1 to %d\n", MAX_STREAMS);
			return 2;
		}
	n = casefile_read(argv[4], c, MAX_CASES);
	if (!n || !nconc)
		return 2;
	posix_spawn_file_actions_init(&devnull);
	for (int fd = 0; fd < 3; fd++)
		posix_spawn_file_actions_addopen(&devnull, fd, "/dev/null",
						 fd ? O_WRONLY : O_RDONLY, 0);
	for (int r = 0; r < rounds; r++) {
		cell(r, NULL, 0, seconds < 2 ? seconds : 2);
		for (int k = 0; k < nconc; k++)
			for (size_t j = 0; j < n; j++) {
				struct bcase *x = &c[(j + (size_t)r + (size_t)k) % n];

				if (!x->failed && cell(r, x, conc[k], seconds) < 0)
					x->failed = 1;
			}
	}
	return 0;
}
