build/obj/worker/metrics.o: worker/metrics.c include/healer/log.h \
 include/healer/metrics.h include/healer/pool.h include/healer/aws.h \
 include/healer/clock.h include/healer/common.h include/healer/creds.h \
 include/healer/http.h include/healer/sigv4.h include/healer/retry.h \
 include/healer/config.h include/healer/activity.h worker/pool_internal.h
include/healer/log.h:
include/healer/metrics.h:
include/healer/pool.h:
include/healer/aws.h:
include/healer/clock.h:
include/healer/common.h:
include/healer/creds.h:
include/healer/http.h:
include/healer/sigv4.h:
include/healer/retry.h:
include/healer/config.h:
include/healer/activity.h:
worker/pool_internal.h:
