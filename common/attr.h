/*
 * attr: compiler attributes shared by every module.
 *
 * WSUS_MUST_USE marks a function whose result says whether it worked (a parse, a transaction
 * step, a path that must fit): ignoring it is a bug, so the compiler warns (-Werror: fails).
 * Appends to a struct buf are not marked: their errors are sticky and checked once at the end
 * (buf_failed()).
 */
#ifndef WSUS_ATTR_H
#define WSUS_ATTR_H

#define WSUS_MUST_USE __attribute__((warn_unused_result))

#endif
