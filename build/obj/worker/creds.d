build/obj/worker/creds.o: worker/creds.c include/healer/creds.h \
 include/healer/clock.h include/healer/common.h worker/creds_internal.h
include/healer/creds.h:
include/healer/clock.h:
include/healer/common.h:
worker/creds_internal.h:
