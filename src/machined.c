/* SPDX-License-Identifier: BSD-2-Clause */
/* nsbox and systemd: registration with systemd-machined, so that
 * machinectl sees the container, and the transient scope a run's cgroups
 * go in on a host whose cgroups systemd manages. sd-bus comes from
 * libsystemd, loaded (dlopen) only when one of them is tried: most runs
 * never pay for it. Built only when src/have.sh finds libsystemd's headers
 * (HAVE_SDBUS), which nsbox --version shows as +sd-bus. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "have.h"
#include "machined.h"
#include "util.h"

#ifdef HAVE_SDBUS
#include <dlfcn.h>
#include <systemd/sd-bus.h>

#define SD_FUNCS(X)                                                                                \
	X(sd_bus_open_system)                                                                      \
	X(sd_bus_call_methodv)                                                                     \
	X(sd_bus_error_free)                                                                       \
	X(sd_bus_error_has_name)                                                                   \
	X(sd_bus_message_unref)                                                                    \
	X(sd_bus_flush_close_unref)                                                                \
	X(sd_bus_new)                                                                              \
	X(sd_bus_set_address)                                                                      \
	X(sd_bus_start)                                                                            \
	X(sd_bus_message_new_method_call)                                                          \
	X(sd_bus_message_append)                                                                   \
	X(sd_bus_message_open_container)                                                           \
	X(sd_bus_message_close_container)                                                          \
	X(sd_bus_call)

static struct {
#define X(f) __typeof__(f) *f;
	SD_FUNCS(X)
#undef X
} sd;

static const char *
sd_load(void)
{
	static void *h;

	if (h)
		return NULL;
	if (!(h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL)))
		return "libsystemd.so.0 cannot be loaded";
#define X(f)                                                                                       \
	if (!(sd.f = (__typeof__(f) *)dlsym(h, #f)))                                               \
		return "libsystemd has no " #f;
	SD_FUNCS(X)
#undef X
	return NULL;
}

/* Whether machined is simply not there: no bus, or nobody owns the name. */
static bool
absent(int r, const sd_bus_error *e)
{
	return r == -ENOENT || r == -ECONNREFUSED || r == -ENOTCONN ||
	       (e && (sd.sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
		      sd.sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER)));
}

/* Call a Manager method; 0, 1 when machined is absent, -1 with why. */
static int
call(const char *method, const char *sig, char *why, size_t size, ...)
{
	sd_bus *bus = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *load;
	va_list ap;
	int r;

	/* No bus, no machined: not worth loading libsystemd to find out. */
	if (!getenv("DBUS_SYSTEM_BUS_ADDRESS") && access("/run/dbus/system_bus_socket", F_OK) < 0) {
		snprintf(why, size, "no system bus (/run/dbus/system_bus_socket)");
		return 1;
	}
	if ((load = sd_load())) {
		snprintf(why, size, "%s", load);
		return 1;
	}
	if ((r = sd.sd_bus_open_system(&bus)) < 0) {
		snprintf(why, size, "the system bus: %s", strerror(-r));
		return absent(r, NULL) ? 1 : -1;
	}
	va_start(ap, size);
	r = sd.sd_bus_call_methodv(bus, "org.freedesktop.machine1", "/org/freedesktop/machine1",
				   "org.freedesktop.machine1.Manager", method, &e, &reply, sig, ap);
	va_end(ap);
	if (r < 0)
		snprintf(why, size, "%s", e.message ? e.message : strerror(-r));
	if (r < 0 && absent(r, &e))
		r = 1;
	else if (r > 0)
		r = 0;
	sd.sd_bus_error_free(&e);
	if (reply)
		sd.sd_bus_message_unref(reply);
	sd.sd_bus_flush_close_unref(bus);
	return r;
}

/* The caller's systemd: the system manager for root, else the user's own
 * manager, through its private socket as systemctl and systemd-run use it
 * (no dbus-daemon needed; only its user can connect): /run/systemd/private,
 * or $XDG_RUNTIME_DIR/systemd/private, else /run/user/UID's (a user who
 * came through su or setpriv has no XDG_RUNTIME_DIR, but may have a
 * manager: lingering). NULL with why when there is none. */
static sd_bus *
manager_bus(char *why, size_t size)
{
	sd_bus *bus = NULL;
	const char *rt = getenv("XDG_RUNTIME_DIR");
	_cleanup_free_ char *addr = NULL, *path = NULL;
	int r;

	if (geteuid() == 0)
		path = xstrdup("/run/systemd/private");
	else if (rt && *rt)
		path = xasprintf("%s/systemd/private", rt);
	else
		path = xasprintf("/run/user/%u/systemd/private", (unsigned)geteuid());
	if (access(path, F_OK) < 0) {
		snprintf(why, size, "no systemd manager of uid %u (%s: %s)", (unsigned)geteuid(),
			 path, strerror(errno));
		return NULL;
	}
	addr = xasprintf("unix:path=%s", path);
	if ((r = sd.sd_bus_new(&bus)) < 0 || (r = sd.sd_bus_set_address(bus, addr)) < 0 ||
	    (r = sd.sd_bus_start(bus)) < 0) {
		snprintf(why, size, "%s: %s", path, strerror(-r));
		if (bus)
			sd.sd_bus_flush_close_unref(bus);
		return NULL;
	}
	return bus;
}

/* StartTransientUnit(unit, "fail", {PIDs: [pid], Delegate: yes, ...}). */
static int
start_scope(sd_bus *bus, const char *unit, pid_t pid, char *why, size_t size)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	r = sd.sd_bus_message_new_method_call(
		bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
		"org.freedesktop.systemd1.Manager", "StartTransientUnit");
	if (r >= 0)
		r = sd.sd_bus_message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd.sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd.sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "PIDs", "au", 1, (uint32_t)pid,
					     "Delegate", "b", 1, "CollectMode", "s",
					     "inactive-or-failed", "Description", "s",
					     "nsbox container");
	if (r >= 0)
		r = sd.sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd.sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r >= 0)
		r = sd.sd_bus_call(bus, m, 0, &e, &reply);
	if (r < 0)
		snprintf(why, size, "%s", e.message ? e.message : strerror(-r));
	sd.sd_bus_error_free(&e);
	if (reply)
		sd.sd_bus_message_unref(reply);
	if (m)
		sd.sd_bus_message_unref(m);
	return r < 0 ? -1 : 0;
}
#endif

int
systemd_scope(const char *unit, pid_t pid, char *why, size_t size)
{
#ifdef HAVE_SDBUS
	const char *load;
	sd_bus *bus;
	int r;

	if ((load = sd_load())) {
		snprintf(why, size, "%s", load);
		return 1;
	}
	if (!(bus = manager_bus(why, size)))
		return 1;
	r = start_scope(bus, unit, pid, why, size);
	sd.sd_bus_flush_close_unref(bus);
	return r;
#else
	(void)unit;
	(void)pid;
	snprintf(why, size, "nsbox was built without sd-bus (-sd-bus in nsbox --version)");
	return 1;
#endif
}

int
machined_register(const char *name, pid_t leader, const char *root, enum tristate mode,
		  const char *origin, struct nsbox_err *err)
{
	char why[512] = "";
	int r;

	if (mode == TRI_NO || (mode == TRI_AUTO && geteuid() != 0))
		return 0;
#ifdef HAVE_SDBUS
	/* machined takes an empty id for "unknown"; an array is a count and
	 * its elements */
	r = call("RegisterMachine", "sayssus", why, sizeof(why), name, 0, "nsbox", "container",
		 (uint32_t)leader, root);
#else
	(void)leader;
	(void)root;
	snprintf(why, sizeof(why),
		 "nsbox was built without sd-bus (-sd-bus in nsbox --version: build it "
		 "again with libsystemd-dev installed)");
	/* a systemd host (sd_booted()), where machined would have registered
	 * it: say why it did not */
	if (mode == TRI_AUTO && access("/run/systemd/system/", F_OK) == 0)
		fprintf(stderr, "nsbox: warning: %s is not registered with systemd-machined: %s\n",
			name, why);
	r = 1;
#endif
	if (r == 0)
		return 1;
	if (mode == TRI_YES)
		return nsbox_error_at(err, origin,
				      "process.register: cannot register %s with "
				      "systemd-machined: %s",
				      name, why);
	if (r < 0) /* there, but it refused: worth a line, not a failed run */
		fprintf(stderr, "nsbox: warning: systemd-machined did not register %s: %s\n", name,
			why);
	return 0;
}

void
machined_unregister(const char *name)
{
#ifdef HAVE_SDBUS
	char why[512];

	if (call("UnregisterMachine", "s", why, sizeof(why), name) < 0)
		fprintf(stderr, "nsbox: warning: systemd-machined did not unregister %s: %s\n",
			name, why);
#else
	(void)name;
#endif
}
