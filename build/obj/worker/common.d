build/obj/worker/common.o: worker/common.c include/healer/common.h
include/healer/common.h:
