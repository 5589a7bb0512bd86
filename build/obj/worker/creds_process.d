build/obj/worker/creds_process.o: worker/creds_process.c \
 worker/creds_internal.h include/healer/common.h include/healer/creds.h \
 include/healer/clock.h
worker/creds_internal.h:
include/healer/common.h:
include/healer/creds.h:
include/healer/clock.h:
