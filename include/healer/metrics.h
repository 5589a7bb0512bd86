/* metrics.h - CloudWatch Embedded Metric Format output. */
#ifndef HEALER_METRICS_H
#define HEALER_METRICS_H

#include "healer/pool.h"

/* Prints one EMF line per activity with the counts since the last call,
 * and one pool-wide line (busy slots, open polls). Call from one thread. */
void hl_metrics_flush(hl_pool *pool);

#endif
