build/obj/worker/health.o: worker/health.c include/healer/health.h \
 include/healer/common.h include/healer/pool.h include/healer/aws.h \
 include/healer/clock.h include/healer/creds.h include/healer/http.h \
 include/healer/sigv4.h include/healer/retry.h include/healer/config.h \
 include/healer/activity.h include/healer/log.h
include/healer/health.h:
include/healer/common.h:
include/healer/pool.h:
include/healer/aws.h:
include/healer/clock.h:
include/healer/creds.h:
include/healer/http.h:
include/healer/sigv4.h:
include/healer/retry.h:
include/healer/config.h:
include/healer/activity.h:
include/healer/log.h:
