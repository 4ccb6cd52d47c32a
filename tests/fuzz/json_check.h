/* SPDX-License-Identifier: MIT */
/*
 * json_check.h - the harnesses' check that an encoder wrote JSON.
 */
#ifndef RMAPD_JSON_CHECK_H
#define RMAPD_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether text[0..len) is one JSON value with whitespace around it as RFC
 * 8259 allows: no raw control byte in a string, no trailing comma, no
 * leading zero; nesting deeper than 256 counts as invalid.
 */
bool json_text_valid(const char *text, size_t len);

#endif /* RMAPD_JSON_CHECK_H */
