/*
 * care: who is responsible for a patient at a given moment (which team
 * an alert goes to): the pinned team, else the tenant's hospital team for
 * hospital_days after discharge, then its home team.
 */
#ifndef CARE_H
#define CARE_H

#include <stddef.h>

#include "config.h"
#include "store.h"

/* Writes the responsible team into team; "" when the tenant has none. */
void care_team(const struct config *cfg, const struct store_patient *p, dho_time_t at,
               char *team, size_t len);

#endif
