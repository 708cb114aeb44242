/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every release's asm/kvm_host.h may rely on, reduced to the types
 * its APICv declarations use: the per-release headers beside this file
 * then hold only what changed between releases.
 */
#ifndef AT_RELEASE_COMMON_H
#define AT_RELEASE_COMMON_H
#include <stdbool.h>

typedef unsigned long ulong;
typedef unsigned long long u64;
struct kvm;
struct kvm_vcpu;
struct msr_data;
#endif
