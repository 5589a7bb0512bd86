/* settings.h - reading an activity's HEALER_* settings from the environment.
 *
 * Activities read their settings in their `init` hook (once, at worker
 * start, before threads) and again where they use them; every helper is a
 * pure function of the environment, so both readings agree. Rules shared by
 * all helpers:
 *   - an unset or EMPTY variable means "use the default" (as config.h does);
 *   - values are taken exactly as written: no trimming, no case folding,
 *     except that list items may have spaces around the commas;
 *   - a value that does not parse or is out of range is an error
 *     (HL_ERR_CONFIG) whose message names the variable and quotes the value
 *     (cut to 64 bytes, non-printable bytes shown as '?'). hl_setting_str_check
 *     never quotes the value, so it is the one to use for secrets.
 * Thread safety: they call getenv(), so they are safe from any thread as long
 * as nothing modifies the environment (the worker never does after start).
 */
#ifndef HEALER_SETTINGS_H
#define HEALER_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "healer/common.h"

/* Longest value any helper accepts (bytes). */
#define HL_SETTING_MAX_LEN 4096
/* Most items hl_setting_list accepts. */
#define HL_SETTING_MAX_ITEMS 256

/* *out = the variable's value, or def (may be NULL) when unset or empty.
 * The pointer is into the environment (or def): do not free it. Always 0. */
int hl_setting_str(const char *name, const char *def, const char **out);

/* Like hl_setting_str, then checks the value (not the default): longer than
 * max_len bytes (0 = HL_SETTING_MAX_LEN) or rejected by `valid` (may be NULL)
 * -> HL_ERR_CONFIG "NAME: <what>" WITHOUT the value (safe for secrets).
 * `what` describes the expected form ("must be an https URL"). */
int hl_setting_str_check(const char *name, const char *def, size_t max_len,
			 bool (*valid)(const char *value), const char *what,
			 const char **out, hl_err *err) HL_MUST_CHECK;

/* A decimal integer in [min, max] (optional leading '-', digits only; no
 * spaces, '+', hex or suffixes). *out = def when unset or empty (def is not
 * range-checked). *out is left unchanged on error. */
int hl_setting_int(const char *name, int def, int min, int max, int *out,
		   hl_err *err) HL_MUST_CHECK;

/* A decimal number in [min, max] ("0.8", "1", ".5"; no exponent, no
 * "nan"/"inf"). Same rules as hl_setting_int. */
int hl_setting_double(const char *name, double def, double min, double max,
		      double *out, hl_err *err) HL_MUST_CHECK;

/* "true"/"false"/"1"/"0" (case-insensitive). */
int hl_setting_bool(const char *name, bool def, bool *out, hl_err *err) HL_MUST_CHECK;

/* A comma-separated list. Items are copied; spaces and tabs around each
 * item are dropped; an empty value (or unset, with def NULL) is an empty
 * list. An empty item ("a,,b", "a,"), more than HL_SETTING_MAX_ITEMS items,
 * an item `valid` (may be NULL) rejects, or an item with control characters
 * is an error naming the variable and the item. */
typedef struct hl_strlist {
	char **items;
	size_t n;
} hl_strlist;

int hl_setting_list(const char *name, const char *def, bool (*valid)(const char *item),
		    hl_strlist *out, hl_err *err) HL_MUST_CHECK;
/* True when s equals one item exactly (NULL s or empty list -> false). */
bool hl_strlist_contains(const hl_strlist *l, const char *s);
/* Frees the items; safe on a zeroed or already freed list. */
void hl_strlist_free(hl_strlist *l);

#endif
