build/obj/worker/executor.o: worker/executor.c worker/activity_ctx.h \
 include/healer/activity.h include/healer/aws.h include/healer/clock.h \
 include/healer/common.h include/healer/creds.h include/healer/http.h \
 include/healer/sigv4.h include/healer/retry.h include/healer/log.h \
 worker/pool_internal.h include/healer/pool.h include/healer/config.h
worker/activity_ctx.h:
include/healer/activity.h:
include/healer/aws.h:
include/healer/clock.h:
include/healer/common.h:
include/healer/creds.h:
include/healer/http.h:
include/healer/sigv4.h:
include/healer/retry.h:
include/healer/log.h:
worker/pool_internal.h:
include/healer/pool.h:
include/healer/config.h:
