/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Split a passwd/group line into at most n fields on ':'. */
static size_t
fields(char *line, char **f, size_t n)
{
	size_t k = 0;

	line[strcspn(line, "\n")] = '\0';
	while (k < n) {
		f[k++] = line;
		line = strchr(line, ':');
		if (!line)
			break;
		*line++ = '\0';
	}
	return k;
}

static int
find_passwd(const char *user, FILE *passwd, struct user_info *u)
{
	uint64_t want = 0;
	bool numeric = !value_uint(user, 0, UINT32_MAX - 1, &want);
	char *line = NULL, *f[7];
	size_t cap = 0;
	int found = -1;

	/* "1" is uid 1; "0001" too; a name is looked up by name only. */
	while (passwd && found < 0 && getline(&line, &cap, passwd) > 0) {
		uint64_t uid, gid;

		if (fields(line, f, 7) != 7 || value_uint(f[2], 0, UINT32_MAX - 1, &uid) ||
		    value_uint(f[3], 0, UINT32_MAX - 1, &gid))
			continue;
		if (numeric ? uid != want : !streq(f[0], user))
			continue;
		u->uid = (uid_t)uid;
		u->gid = (gid_t)gid;
		u->name = xstrdup(f[0]);
		u->home = xstrdup(*f[5] ? f[5] : "/");
		u->shell = xstrdup(*f[6] ? f[6] : "/bin/sh");
		found = 0;
	}
	free(line);
	if (found < 0 && numeric) {
		u->uid = (uid_t)want;
		u->gid = (gid_t)want;
		u->home = xstrdup("/");
		u->shell = xstrdup("/bin/sh");
		found = 0;
	}
	return found;
}

static void
find_groups(FILE *group, struct user_info *u)
{
	char *line = NULL, *f[4], *save = NULL;
	size_t cap = 0, gcap = 0;

	while (group && u->name && getline(&line, &cap, group) > 0) {
		uint64_t gid;

		if (fields(line, f, 4) != 4 || value_uint(f[2], 0, UINT32_MAX - 1, &gid))
			continue;
		for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			if (streq(m, u->name) && (gid_t)gid != u->gid) {
				xgrow(&u->groups, &gcap, u->n_groups + 1, sizeof(gid_t));
				u->groups[u->n_groups++] = (gid_t)gid;
			}
		}
	}
	free(line);
}

int
user_lookup(const char *user, FILE *passwd, FILE *group, struct user_info *u, struct nsbox_err *err)
{
	memset(u, 0, sizeof(*u));
	if (!user)
		user = "0";
	if (find_passwd(user, passwd, u) < 0)
		return nsbox_error(err, 0, "no user '%.64s' in the container's /etc/passwd", user);
	find_groups(group, u);
	return 0;
}

void
user_info_clear(struct user_info *u)
{
	free(u->name);
	free(u->home);
	free(u->shell);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}

void
env_set(char ***env, const char *key, const char *value, bool overwrite)
{
	size_t klen = strlen(key), n = strv_len(*env);

	for (size_t i = 0; i < n; i++) {
		if (strncmp((*env)[i], key, klen) == 0 && (*env)[i][klen] == '=') {
			if (overwrite) {
				free((*env)[i]);
				(*env)[i] = xasprintf("%s=%s", key, value);
			}
			return;
		}
	}
	*env = xrealloc(*env, (n + 2) * sizeof(char *));
	(*env)[n] = xasprintf("%s=%s", key, value);
	(*env)[n + 1] = NULL;
}

char **
env_build(const struct plan_env *e, char *const *caller, const struct user_info *u)
{
	char **env = xcalloc(1, sizeof(char *));

	for (size_t i = 0; caller && caller[i]; i++)
		if (!e->clear.value || startswith(caller[i], "TERM="))
			strv_push(&env, caller[i]);
	env_set(&env, "HOME", u->home ? u->home : "/", e->clear.value);
	if (u->name) {
		env_set(&env, "USER", u->name, e->clear.value);
		env_set(&env, "LOGNAME", u->name, e->clear.value);
	}
	env_set(&env, "SHELL", u->shell ? u->shell : "/bin/sh", e->clear.value);
	env_set(&env, "PATH", DEFAULT_PATH, false);
	for (size_t i = 0; i < e->n_vars; i++)
		env_set(&env, e->vars[i].key, e->vars[i].value, true);
	return env;
}
