build/obj/worker/clock.o: worker/clock.c include/healer/clock.h
include/healer/clock.h:
