/*
 * scope.c: what a workspace user may see (docs/api.md, "Scope"), decided
 * here and nowhere else. A nurse sees an alert whose team is one of hers,
 * and a patient while one of her teams is responsible for the patient or
 * holds an unresolved alert of the patient. An auditor sees no patient
 * data at all. The gate (http.c) asks these for the object a path names,
 * and the listings ask them for each row, so a handler never decides.
 */
#include <string.h>

#include "care.h"
#include "web_int.h"

static bool
scope_nurse(const struct web_req *r)
{
	return r->authed && strcmp(r->user.role, "nurse") == 0 && !r->user.disabled;
}

static bool
scope_has_team(const struct web_req *r, const char *team)
{
	for (size_t i = 0; i < r->user.nteams; i++)
		if (strcmp(r->user.teams[i], team) == 0)
			return true;
	return false;
}

bool
scope_alert(struct web_req *r, const struct alert *a)
{
	return scope_nurse(r) && scope_has_team(r, a->team);
}

bool
scope_patient(struct web_req *r, const struct store_patient *p)
{
	const char *teams[STORE_TEAMS_MAX];
	char team[DHO_TEAM_MAX + 1];
	size_t n;
	bool held = false;

	if (!scope_nurse(r))
		return false;
	care_team(r->w->cfg, p, r->now, team, sizeof(team));
	if (team[0] != '\0' && scope_has_team(r, team))
		return true;
	n = scope_teams(r, teams, STORE_TEAMS_MAX);
	if (web_borrow(r) != DHO_OK ||
	    store_alert_held(r->st, p->id, teams, n, &held) != DHO_OK)
		return false;
	return held;
}

size_t
scope_teams(struct web_req *r, const char **out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < r->user.nteams && n < cap; i++)
		out[n++] = r->user.teams[i];
	return n;
}

size_t
scope_tenants(struct web_req *r, const char **out, size_t cap)
{
	const struct config *cfg = r->w->cfg;
	size_t n = 0;

	for (size_t i = 0; i < cfg->ntenant_defs && n < cap; i++) {
		const struct cfg_tenant *t = &cfg->tenant_defs[i];

		if (scope_has_team(r, t->home_team) ||
		    (t->hospital_team[0] != '\0' && scope_has_team(r, t->hospital_team)))
			out[n++] = t->name;
	}
	return n;
}
