build/obj/worker/creds_json.o: worker/creds_json.c include/healer/clock.h \
 worker/creds_internal.h include/healer/common.h include/healer/creds.h
include/healer/clock.h:
worker/creds_internal.h:
include/healer/common.h:
include/healer/creds.h:
