/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scenarios.h - kvmdrive's scenarios without a guest (scenarios.c); each
 * returns 0, or -1 if its VM could not be created (g.failures counts).
 */
#ifndef KVMDRIVE_SCENARIOS_H
#define KVMDRIVE_SCENARIOS_H

int scenario_basic(void);
int scenario_seedpatch(void);
int scenario_aliases(void);
int scenario_toobig(void);
/* PIT reinject off and on @toggles times, @interval_ms apart */
int scenario_flood(int toggles, int interval_ms);
int scenario_idle(double seconds);
int scenario_blockflood(int toggles);
int scenario_twovms(void);

#endif /* KVMDRIVE_SCENARIOS_H */
