build/obj/worker/creds_ecs.o: worker/creds_ecs.c include/healer/clock.h \
 include/healer/http.h include/healer/common.h include/healer/sigv4.h \
 worker/creds_internal.h include/healer/creds.h
include/healer/clock.h:
include/healer/http.h:
include/healer/common.h:
include/healer/sigv4.h:
worker/creds_internal.h:
include/healer/creds.h:
