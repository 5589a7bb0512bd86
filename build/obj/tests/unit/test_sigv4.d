build/obj/tests/unit/test_sigv4.o: tests/unit/test_sigv4.c \
 include/healer/clock.h include/healer/common.h include/healer/sigv4.h
include/healer/clock.h:
include/healer/common.h:
include/healer/sigv4.h:
