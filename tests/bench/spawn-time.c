/* SPDX-License-Identifier: BSD-2-Clause */
/* spawn-time: how long commands take from spawn to reaped, interleaved.
 *
 *   spawn-time ROUNDS CASEFILE
 *
 * CASEFILE has a case a line: its name, then its argv, fields separated
 * by tabs. Each round runs every case once, in file order, with standard
 * streams on /dev/null; for each run one line "NAME MICROSECONDS" goes to
 * standard output (table.awk's input), and a third field, the peak RSS
 * in KB of the largest process of the run (wait4's ru_maxrss: the child
 * or one it reaped). The clock is CLOCK_MONOTONIC around posix_spawn and
 * wait4: no shell and no date(1) in the number.
 * A case that exits non-zero says so on standard error and is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "casefile.h"

extern char **environ;

static long long
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int
main(int argc, char **argv)
{
	struct bcase c[64];
	size_t n = 0;
	int rounds;
	posix_spawn_file_actions_t fa;

	if (argc != 3 || (rounds = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: spawn-time ROUNDS CASEFILE\n");
		return 2;
	}
	n = casefile_read(argv[2], c, sizeof(c) / sizeof(c[0]));
	posix_spawn_file_actions_init(&fa);
	for (int fd = 0; fd < 3; fd++)
		posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++) {
			long long t0, t1;
			struct rusage ru = {0};
			pid_t pid;
			int status, e;

			if (c[i].failed)
				continue;
			t0 = now_us();
			e = posix_spawn(&pid, c[i].argv[0], &fa, NULL, c[i].argv, environ);
			if (e == 0)
				while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
					;
			t1 = now_us();
			if (e != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "spawn-time: %s failed (%s)\n", c[i].name,
					e ? strerror(e) : "exit status");
				c[i].failed = 1;
				continue;
			}
			printf("%s %lld %ld\n", c[i].name, t1 - t0, ru.ru_maxrss);
		}
	}
	return 0;
}
