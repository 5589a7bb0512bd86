build/obj/worker/sigv4.o: worker/sigv4.c include/healer/clock.h \
 include/healer/sigv4.h include/healer/common.h
include/healer/clock.h:
include/healer/sigv4.h:
include/healer/common.h:
