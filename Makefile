# SPDX-License-Identifier: BSD-2-Clause
.POSIX:
.SUFFIXES:
.SUFFIXES: .c .o

include config.mk

ALL_CPPFLAGS = $(NSBOX_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = $(NSBOX_CFLAGS) $(CFLAGS)

LIB_SRC = src/util.c src/err.c src/state.c src/machined.c src/sha256.c src/tarball.c src/cache.c src/cgroup.c src/hook.c src/attach.c src/ctl.c src/value.c src/idmap.c src/plan.c src/profile.c src/mount.c \
	src/nl.c src/env.c src/relay.c src/seccomp.c src/userns.c src/netif.c \
	src/options.c src/run.c src/rootfs.c src/payload.c src/monitor.c
LIB_OBJ = $(LIB_SRC:.c=.o)
HDR     = src/*.h
UNIT    = tests/unit/test_value tests/unit/test_profile tests/unit/test_plan \
	tests/unit/test_options tests/unit/test_tarball tests/unit/test_state tests/unit/test_userns
SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

all: nsbox

options: src/have.h
	@echo "CC       = $(CC)"
	@echo "CPPFLAGS = $(ALL_CPPFLAGS)"
	@echo "CFLAGS   = $(ALL_CFLAGS)"
	@echo "LDFLAGS  = $(LDFLAGS)"
	@echo "LIBS     = $(PKGS_LIB)"

.c.o:
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_OBJ) src/main.o: $(HDR) src/have.h config.mk

# The optional features, probed on every build (after make deps, in
# `make deps install`); the header changes only when they do.
src/have.h: FORCE
	@CC='$(CC)' CPPFLAGS='$(CPPFLAGS)' SDBUS='$(SDBUS)' sh src/have.sh $@
FORCE:

libnsbox.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

nsbox: src/main.o libnsbox.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ src/main.o libnsbox.a $(PKGS_LIB)

# A test build with fault points (NSBOX_FAULT=STEP:fail|stop); never installed.
tests/nsbox-fault: $(LIB_SRC) src/main.c $(HDR) src/have.h config.mk
	$(CC) $(ALL_CPPFLAGS) -DNSBOX_FAULTS $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(LIB_SRC) src/main.c $(PKGS_LIB)

# nsbox as installed, but for where it looks for profiles: its shipped ones
# are in /var/cache/nsbox-test/shipped/profiles (root's; the test copies
# the checkout's there), and it has no /etc/nsbox: a machine where root
# made nothing, for tests that run the shipped profiles as a user.
SHIPPED = /var/cache/nsbox-test/shipped
tests/nsbox-shipped: src/main.o libnsbox.a src/profile.c $(HDR) src/have.h config.mk
	$(CC) $(ALL_CPPFLAGS) -UDATADIR -DDATADIR=\"$(SHIPPED)\" -USYSCONFDIR \
		-DSYSCONFDIR=\"$(SHIPPED)/etc\" $(ALL_CFLAGS) -c -o tests/profile-shipped.o src/profile.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ src/main.o tests/profile-shipped.o libnsbox.a $(PKGS_LIB)

$(UNIT): libnsbox.a tests/unit/unit.h $(UNIT:=.c)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c libnsbox.a $(PKGS_LIB) $(TEST_LIB)

# A failing test shows its name and what it expected and got.
PROVE = --failures --comments

deps:
	sh tests/deps.sh

# What make check-ci and make check-peer need besides: the CI engines
# (buildbot, debci, rabbitmq-server) and debhelper.
deps-ci:
	sh tests/deps.sh ci

bench-deps:
	sh tests/bench/deps.sh

# Reports, never fails on a number; needs root.
bench: nsbox tests/bench/spawn-time tests/bench/throughput
	rm -f tests/bench/out/*.tsv tests/bench/out/bench.json tests/bench/out/bench.svg
	sh tests/bench/bench-start.sh
	sh tests/bench/bench-throughput.sh
	sh tests/bench/bench-tarball.sh
	sh tests/bench/bench-ephemeral.sh
	sh tests/bench/bench-debuild.sh
	sh tests/bench/bench-debci.sh
	sh tests/bench/bench-autopkgtest.sh
	sh tests/bench/summary.sh

# The one test command: everything that can run here runs.
check: check-unit check-golden check-completion check-install check-integration check-modes check-debuild

check-unit: nsbox $(UNIT)
	CMOCKA_MESSAGE_OUTPUT=TAP prove $(PROVE) -e '' $(UNIT)

check-golden: nsbox
	prove $(PROVE) tests/golden/run.sh

check-completion: nsbox
	prove $(PROVE) -e bash tests/t-completion.sh

# A DESTDIR; in CI (as root) also /usr/local, uninstalled again.
check-install: nsbox
	prove $(PROVE) tests/t-install.sh

# Real containers; needs root, and fails rather than skips when CI=true.
check-integration: nsbox tests/probe/nsbox-probe tests/nsbox-fault
	prove $(PROVE) tests/integration/t-*.sh

# The same suite as root with a user namespace, as a user, without openat2.
check-modes: nsbox tests/probe/nsbox-probe tests/nsbox-fault
	PROVE='$(PROVE)' sh tests/integration/modes.sh

# Real Debian package builds on a sid base from the mirror; slow.
DEBUILD_TESTS = tests/debuild/t-*.sh
check-debuild: nsbox tests/probe/nsbox-probe tests/nsbox-shipped
	prove $(PROVE) $(DEBUILD_TESTS)

# autopkgtest's own test suite and real packages from the mirror against
# autopkgtest-virt-nsbox (tests/peer): about 7 minutes. Needs root and
# make deps-ci; .ci/run runs it after check-ci, not make check.
check-peer: nsbox tests/probe/nsbox-probe
	prove $(PROVE) tests/peer/t-*.sh

# Debian's and others' CI engines driving nsbox: debci with RabbitMQ,
# buildbot, GitLab Runner's custom executor (tests/ci). Needs root.
check-ci: nsbox tests/probe/nsbox-probe
	prove $(PROVE) tests/ci/t-*.sh

# A Debian trixie VM under qemu (systemd as PID 1, cgroup v2 only, a tmpfs
# /run, machined): tests/vm/README.md. Needs root; about 15 minutes
# under TCG, and 3 to make the image the first time.
check-vm:
	prove $(PROVE) tests/vm/run.sh

# The benchmarks' clock: spawn to reaped, no shell in the number.
tests/bench/spawn-time: tests/bench/spawn-time.c tests/bench/casefile.h
	$(CC) $(NSBOX_CFLAGS) -D_GNU_SOURCE -O2 -o $@ tests/bench/spawn-time.c

# Throughput under load: concurrent streams of spawn and wait, one thread each.
tests/bench/throughput: tests/bench/throughput.c tests/bench/casefile.h
	$(CC) $(NSBOX_CFLAGS) -D_GNU_SOURCE -O2 -pthread -o $@ tests/bench/throughput.c

# Static, so that it runs inside the busybox fixture root.
tests/probe/nsbox-probe: tests/probe/nsbox-probe.c
	$(CC) $(ALL_CPPFLAGS) $(NSBOX_CFLAGS) -O2 -static -o $@ tests/probe/nsbox-probe.c

# make check under ASan and UBSan, but for t-sbuild: four sbuild builds
# (about four minutes) for nsbox paths t-autopkgtest and t-debuild cover.
asan:
	$(MAKE) clean
	$(MAKE) check CFLAGS="-O1 -g $(SANITIZE)" LDFLAGS="$(SANITIZE)" \
		DEBUILD_TESTS="$(filter-out tests/debuild/t-sbuild.sh,$(wildcard tests/debuild/t-*.sh))"
	$(MAKE) clean

# libFuzzer targets (clang): each runs FUZZ_TIME seconds on its corpus
# (tests/fuzz/corpus/TARGET, new inputs kept there), seeded from the
# shipped profiles, the golden command lines and tests/fuzz/seeds.
FUZZ      = fuzz_profile fuzz_cmdline fuzz_specs fuzz_subuid fuzz_passwd fuzz_state
FUZZ_TIME = 60
FUZZ_CC   = clang
FUZZ_SAN  = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FB        = tests/fuzz/build

fuzz-build: src/have.h
	mkdir -p $(FB)/obj
	for f in $(LIB_SRC); do \
		$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 $(PKGS_INC) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
			-c -o $(FB)/obj/$$(basename $$f .c).o $$f || exit 1; \
	done
	for t in $(FUZZ); do \
		$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 $(PKGS_INC) -Itests/fuzz $(FUZZ_SAN) -fsanitize=fuzzer \
			-o $(FB)/$$t tests/fuzz/$$t.c $(FB)/obj/*.o $(PKGS_LIB) || exit 1; \
	done
	mkdir -p $(FB)/seeds/fuzz_profile $(FB)/seeds/fuzz_cmdline
	cp profiles/*.conf tests/data/profiles/*.conf $(FB)/seeds/fuzz_profile/ 2>/dev/null || true
	for a in tests/golden/cases/*.args; do \
		{ printf '\000'; tr '\n' '\000' <$$a; } >$(FB)/seeds/fuzz_cmdline/$$(basename $$a); \
	done

fuzz: fuzz-build
	for t in $(FUZZ); do \
		mkdir -p tests/fuzz/corpus/$$t $(FB)/seeds/$$t tests/fuzz/seeds/$$t; \
		$(FB)/$$t -max_total_time=$(FUZZ_TIME) -max_len=65536 -timeout=10 \
			-artifact_prefix=tests/fuzz/crashes/$$t- \
			tests/fuzz/corpus/$$t $(FB)/seeds/$$t tests/fuzz/seeds/$$t || exit 1; \
	done

format:
	clang-format -i src/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch]

format-check:
	clang-format --dry-run -Werror src/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tests/bench/*.[ch]

lint:
	cppcheck --quiet --enable=warning,portability --error-exitcode=1 --inline-suppr \
		-D_GNU_SOURCE -Isrc src
	shellcheck -x helpers/nsbox-mkroot helpers/lib.sh helpers/nsbox-gitlab-executor \
		helpers/bash-completion/nsbox tests/t-completion.sh \
		tests/t-install.sh src/have.sh \
		debuild/nsbox-debuild tests/*.sh tests/bench/*.sh \
		tests/debuild/*.sh tests/peer/*.sh tests/golden/*.sh tests/fixtures/*.sh tests/integration/*.sh .ci/run \
		helpers/debci-backend-nsbox/create-testbed helpers/debci-backend-nsbox/test-package tests/ci/*.sh
	mandoc -Tlint -Wwarning man/*.[1578]
	python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' helpers/autopkgtest-virt-nsbox
	! grep -n 'sprintf(' src/*.c | grep -v 'snprintf(\|vasprintf(\|asprintf('
	! grep -nE '(^|[^x_a-z])(malloc|strdup|strndup|realloc|calloc)\(' src/*.c | grep -v '^src/util.c'

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/profiles $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	cp -f nsbox $(DESTDIR)$(BINDIR)/nsbox
	chmod 755 $(DESTDIR)$(BINDIR)/nsbox
	cp -f helpers/nsbox-mkroot helpers/lib.sh $(DESTDIR)$(LIBEXECDIR)/
	chmod 755 $(DESTDIR)$(LIBEXECDIR)/nsbox-mkroot
	chmod 644 $(DESTDIR)$(LIBEXECDIR)/lib.sh
	mkdir -p $(DESTDIR)$(SYSCONFDIR)/nsbox $(DESTDIR)$(BASHCOMPDIR)
	[ -e $(DESTDIR)$(SYSCONFDIR)/nsbox/README ] || cp profiles/README.etc \
		$(DESTDIR)$(SYSCONFDIR)/nsbox/README
	cp -f helpers/bash-completion/nsbox $(DESTDIR)$(BASHCOMPDIR)/nsbox
	ln -sf nsbox $(DESTDIR)$(BASHCOMPDIR)/nsbox-debuild
	chmod 644 $(DESTDIR)$(BASHCOMPDIR)/nsbox
	sed 's|^LIBEXECDIR=.*|LIBEXECDIR=$(LIBEXECDIR)|' debuild/nsbox-debuild \
		>$(DESTDIR)$(BINDIR)/nsbox-debuild
	chmod 755 $(DESTDIR)$(BINDIR)/nsbox-debuild
	cp -f helpers/autopkgtest-virt-nsbox $(DESTDIR)$(BINDIR)/autopkgtest-virt-nsbox
	chmod 755 $(DESTDIR)$(BINDIR)/autopkgtest-virt-nsbox
	cp -f helpers/nsbox-gitlab-executor $(DESTDIR)$(BINDIR)/nsbox-gitlab-executor
	chmod 755 $(DESTDIR)$(BINDIR)/nsbox-gitlab-executor
	cp -f profiles/*.conf $(DESTDIR)$(DATADIR)/profiles/
	chmod 644 $(DESTDIR)$(DATADIR)/profiles/*.conf
	cp -f man/nsbox.1 man/nsbox-mkroot.1 man/nsbox-debuild.1 man/autopkgtest-virt-nsbox.1 \
		man/nsbox-gitlab-executor.1 $(DESTDIR)$(MANDIR)/man1/
	cp -f man/nsbox.conf.5 $(DESTDIR)$(MANDIR)/man5/

# Removes the directories install's mkdir -p made too, when nothing else
# is in them (a new machine has no /usr/local/share/man/man1 or
# /usr/local/share/bash-completion).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nsbox $(DESTDIR)$(BINDIR)/nsbox-debuild \
		$(DESTDIR)$(BINDIR)/autopkgtest-virt-nsbox $(DESTDIR)$(MANDIR)/man1/autopkgtest-virt-nsbox.1 \
		$(DESTDIR)$(BINDIR)/nsbox-gitlab-executor $(DESTDIR)$(MANDIR)/man1/nsbox-gitlab-executor.1 \
		$(DESTDIR)$(MANDIR)/man1/nsbox.1 $(DESTDIR)$(MANDIR)/man1/nsbox-debuild.1 \
		$(DESTDIR)$(MANDIR)/man1/nsbox-mkroot.1 $(DESTDIR)$(MANDIR)/man5/nsbox.conf.5 \
		$(DESTDIR)$(LIBEXECDIR)/nsbox-mkroot $(DESTDIR)$(LIBEXECDIR)/lib.sh \
		$(DESTDIR)$(BASHCOMPDIR)/nsbox $(DESTDIR)$(BASHCOMPDIR)/nsbox-debuild
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(BASHCOMPDIR)
	-rmdir $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	-d='$(DESTDIR)$(BASHCOMPDIR)'; rmdir "$${d%/*}"
	-cmp -s profiles/README.etc $(DESTDIR)$(SYSCONFDIR)/nsbox/README && \
		rm -f $(DESTDIR)$(SYSCONFDIR)/nsbox/README
	-rmdir $(DESTDIR)$(SYSCONFDIR)/nsbox
	for f in profiles/*.conf; do rm -f $(DESTDIR)$(DATADIR)/$$f; done
	-rmdir $(DESTDIR)$(DATADIR)/profiles $(DESTDIR)$(DATADIR)

# debci's backend nsbox (debci-backend-nsbox(7)): into debci's own tree,
# which is always /usr/share/debci (debci finds a backend nowhere else);
# its man page with nsbox's. Needs make install for autopkgtest-virt-nsbox.
DEBCIDIR = /usr/share/debci
DEBCI_BACKEND = $(DESTDIR)$(DEBCIDIR)/backends/nsbox
install-debci:
	mkdir -p $(DEBCI_BACKEND) $(DESTDIR)$(MANDIR)/man7
	cp -f helpers/debci-backend-nsbox/create-testbed helpers/debci-backend-nsbox/test-package \
		$(DEBCI_BACKEND)/
	chmod 755 $(DEBCI_BACKEND)/create-testbed $(DEBCI_BACKEND)/test-package
	cp -f man/debci-backend-nsbox.7 $(DESTDIR)$(MANDIR)/man7/
	chmod 644 $(DESTDIR)$(MANDIR)/man7/debci-backend-nsbox.7

uninstall-debci:
	rm -f $(DEBCI_BACKEND)/create-testbed $(DEBCI_BACKEND)/test-package \
		$(DESTDIR)$(MANDIR)/man7/debci-backend-nsbox.7
	-rmdir $(DEBCI_BACKEND) $(DESTDIR)$(MANDIR)/man7

clean:
	rm -f nsbox libnsbox.a src/*.o src/have.h $(UNIT) tests/probe/nsbox-probe tests/nsbox-fault tests/nsbox-shipped tests/profile-shipped.o tests/bench/spawn-time tests/bench/throughput
	rm -rf $(FB)

.PHONY: FORCE all options deps deps-ci bench-deps bench check check-unit check-golden check-completion check-install check-integration check-modes check-debuild check-peer check-ci check-vm asan fuzz fuzz-build format format-check lint \
	install uninstall install-debci uninstall-debci clean
