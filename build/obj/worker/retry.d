build/obj/worker/retry.o: worker/retry.c include/healer/retry.h \
 include/healer/clock.h include/healer/common.h
include/healer/retry.h:
include/healer/clock.h:
include/healer/common.h:
