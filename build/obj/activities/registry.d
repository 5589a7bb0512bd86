build/obj/activities/registry.o: activities/registry.c \
 include/healer/activity.h include/healer/aws.h include/healer/clock.h \
 include/healer/common.h include/healer/creds.h include/healer/http.h \
 include/healer/sigv4.h include/healer/retry.h
include/healer/activity.h:
include/healer/aws.h:
include/healer/clock.h:
include/healer/common.h:
include/healer/creds.h:
include/healer/http.h:
include/healer/sigv4.h:
include/healer/retry.h:
