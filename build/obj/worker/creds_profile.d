build/obj/worker/creds_profile.o: worker/creds_profile.c \
 worker/creds_internal.h include/healer/common.h include/healer/creds.h \
 include/healer/clock.h
worker/creds_internal.h:
include/healer/common.h:
include/healer/creds.h:
include/healer/clock.h:
