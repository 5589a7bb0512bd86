build/obj/worker/creds_env.o: worker/creds_env.c worker/creds_internal.h \
 include/healer/common.h include/healer/creds.h include/healer/clock.h
worker/creds_internal.h:
include/healer/common.h:
include/healer/creds.h:
include/healer/clock.h:
