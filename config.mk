# SPDX-License-Identifier: BSD-2-Clause
# nsbox build settings; override on the command line (make PREFIX=/usr).
VERSION    = 0.1.0

PREFIX     = /usr/local
BINDIR     = $(PREFIX)/bin
LIBEXECDIR = $(PREFIX)/lib/nsbox
DATADIR    = $(PREFIX)/share/nsbox
MANDIR     = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
SYSCONFDIR = /etc
DESTDIR    =

CC         = cc
AR         = ar
PKG_CONFIG = pkg-config
PKGS       = inih libmnl libcap
# libarchive's headers only: nsbox loads it (dlopen) where it extracts
PKGS_INC  != $(PKG_CONFIG) --cflags $(PKGS) libarchive 2>/dev/null || true
PKGS_LIB  != $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null || echo -linih -lmnl -lcap
PKGS_LIB += -pthread
# sd-bus, to register with systemd-machined: libsystemd's headers only,
# loaded (dlopen) when a run registers. auto: when the headers are there
# (libsystemd-dev); yes: the build fails without them; no: without sd-bus.
# Probed when make builds, not here (src/have.sh writes src/have.h).
SDBUS      = auto
TEST_LIB  != $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka

NSBOX_CPPFLAGS = -D_GNU_SOURCE -DVERSION=\"$(VERSION)\" -DSYSCONFDIR=\"$(SYSCONFDIR)\" \
	-DDATADIR=\"$(DATADIR)\" -DLIBEXECDIR=\"$(LIBEXECDIR)\" -Isrc
NSBOX_CFLAGS   = -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 $(PKGS_INC)

# The user's flags; they come last, so dpkg-buildflags works.
CFLAGS  = -O2 -g
LDFLAGS =
