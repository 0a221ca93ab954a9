/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef NSBOX_NL_H
#define NSBOX_NL_H

#include "err.h"

/* Bring the loopback interface of the current network namespace up, through
 * rtnetlink (libmnl), checking the kernel's acknowledgement. */
int nl_lo_up(struct nsbox_err *err);

#endif
