build/obj/worker/http.o: worker/http.c include/healer/http.h \
 include/healer/common.h include/healer/sigv4.h
include/healer/http.h:
include/healer/common.h:
include/healer/sigv4.h:
