/*
 * care.c: the responsible team by care phase.
 */
#include <stdio.h>

#include "care.h"

void
care_team(const struct config *cfg, const struct store_patient *p, dho_time_t at,
          char *team, size_t len)
{
	const struct cfg_tenant *t;
	int days;

	if (p->team[0] != '\0') {
		snprintf(team, len, "%s", p->team);
		return;
	}
	t = config_tenant(cfg, p->tenant);
	if (t == NULL) {
		team[0] = '\0';
		return;
	}
	days = p->hospital_days >= 0 ? p->hospital_days : t->hospital_days;
	if (at < p->discharged + (dho_time_t)days * 86400 && t->hospital_team[0] != '\0')
		snprintf(team, len, "%s", t->hospital_team);
	else
		snprintf(team, len, "%s", t->home_team);
}
