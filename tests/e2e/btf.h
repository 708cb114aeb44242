/* SPDX-License-Identifier: GPL-2.0 */
/*
 * btf.h - the running kernel's enums from its BTF (btf.c).
 */
#ifndef KVMDRIVE_BTF_H
#define KVMDRIVE_BTF_H

/* Print enum @name's constants (BTFENUM, BTFVAL lines); exit status. */
int btf_enum(const char *name);

#endif /* KVMDRIVE_BTF_H */
