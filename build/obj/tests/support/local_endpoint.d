build/obj/tests/support/local_endpoint.o: tests/support/local_endpoint.c \
 tests/support/local_endpoint.h
tests/support/local_endpoint.h:
