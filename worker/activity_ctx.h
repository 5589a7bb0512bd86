/* activity_ctx.h - internal: how the pool drives an activity context. */
#ifndef HEALER_ACTIVITY_CTX_H
#define HEALER_ACTIVITY_CTX_H

#include <stdatomic.h>

#include "healer/activity.h"

/* Points the context at a new task: its activity and its cancellation
 * flag (owned by the task; may be NULL). Clears any recorded failure. */
void hl_activity_ctx_begin(hl_activity_ctx *ctx, const hl_activity *act,
			   const atomic_bool *cancelled);

#endif
