build/obj/worker/aws.o: worker/aws.c include/healer/aws.h \
 include/healer/clock.h include/healer/common.h include/healer/creds.h \
 include/healer/http.h include/healer/sigv4.h include/healer/retry.h
include/healer/aws.h:
include/healer/clock.h:
include/healer/common.h:
include/healer/creds.h:
include/healer/http.h:
include/healer/sigv4.h:
include/healer/retry.h:
