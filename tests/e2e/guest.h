/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest.h - kvmdrive's guest scenario (guest.c) and its options.
 */
#ifndef KVMDRIVE_GUEST_H
#define KVMDRIVE_GUEST_H

#include <stdbool.h>

/* reboot methods (--reboot-method) */
enum { M_KBD, M_CF9, M_TRIPLE, M_NR };

struct guest_opts {
	int reboots;		/* --reboots */
	double seconds;		/* --seconds: total run time, 0: tick based */
	double boot_secs;	/* seconds per boot in --seconds mode */
	double timeout;		/* --timeout: hard wall-clock limit */
	unsigned int ticks;	/* --ticks */
	unsigned int hz;	/* --hz */
	int method;		/* M_*, -1: cycle */
	int bad_apic_reboot;	/* 0: off */
	bool no_reinject;	/* PIT reinject off before running */
};

/* --reboot-method NAME: M_*, -1 for "cycle", -2 if unknown */
int guest_reboot_method(const char *name);
int scenario_guest(const struct guest_opts *o);

#endif /* KVMDRIVE_GUEST_H */
