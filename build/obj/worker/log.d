build/obj/worker/log.o: worker/log.c include/healer/common.h \
 include/healer/log.h include/healer/sigv4.h
include/healer/common.h:
include/healer/log.h:
include/healer/sigv4.h:
