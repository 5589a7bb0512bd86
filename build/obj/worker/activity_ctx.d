build/obj/worker/activity_ctx.o: worker/activity_ctx.c \
 worker/activity_ctx.h include/healer/activity.h include/healer/aws.h \
 include/healer/clock.h include/healer/common.h include/healer/creds.h \
 include/healer/http.h include/healer/sigv4.h include/healer/retry.h
worker/activity_ctx.h:
include/healer/activity.h:
include/healer/aws.h:
include/healer/clock.h:
include/healer/common.h:
include/healer/creds.h:
include/healer/http.h:
include/healer/sigv4.h:
include/healer/retry.h:
