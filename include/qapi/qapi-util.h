/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small definitions shared by all generated QAPI code.
 */
#ifndef QAPI_QAPI_UTIL_H
#define QAPI_QAPI_UTIL_H

/*
 * The JSON type of a value; an alternate's 'type' field says which of its
 * branches is in use (QTYPE_QNUM for both integers and numbers).
 */
typedef enum QType {
    QTYPE_NONE,
    QTYPE_QNULL,
    QTYPE_QNUM,
    QTYPE_QSTRING,
    QTYPE_QDICT,
    QTYPE_QLIST,
    QTYPE_QBOOL,
    QTYPE__MAX,
} QType;

#endif
