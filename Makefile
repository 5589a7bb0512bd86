# healer - build, test, demo, bench.
#   make            build build/healer
#   make test       unit tests (Criterion) + integration tests (local stand-ins)
#   make demo       run the engine end to end on the local stand-ins
#   make bench      benchmarks that print figures (not part of test)
#   make fuzz       libFuzzer targets, longer runs
#   SANITIZE=address,undefined | thread   build with sanitizers
#   CI=1            warnings are errors

CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local
PYTHON   ?= /usr/bin/python3
comma    := ,
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)

WARN     := -Wall -Wextra -pedantic -Wstrict-prototypes -Wmissing-prototypes \
            -Wshadow -Wvla -Wwrite-strings -Wformat=2 -fno-common
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -MMD -MP \
            -DHEALER_VERSION='"$(VERSION)"'
LDLIBS   := -lcurl -ljson-c -lcrypto -lpthread
ifdef CI
CFLAGS   += -Werror
endif
ifdef SANITIZE
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    := build/san-$(subst $(comma),-,$(SANITIZE))
endif

LIB_SRC   := $(filter-out worker/main.c,$(wildcard worker/*.c)) $(wildcard activities/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ  := $(BUILD)/obj/worker/main.o
UNIT_SRC  := $(wildcard tests/unit/*.c) $(wildcard tests/support/*.c)
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: all test test-unit test-integration demo bench fuzz clean install
all: $(BUILD)/healer

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libhealer.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/healer: $(MAIN_OBJ) $(BUILD)/libhealer.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-tests: $(UNIT_OBJ) $(BUILD)/libhealer.a
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libhealer.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# ---- tests ---------------------------------------------------------------
# Unit tests run from the repository root so they find ../shared/testdata.
test: test-unit test-integration

test-unit: $(BUILD)/unit-tests $(BUILD)/healer
	HEALER_BIN=$(abspath $(BUILD)/healer) $(BUILD)/unit-tests --jobs 2

# Node tools (dynalite, ASL validator/interpreter, HCL parser), pinned.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

test-integration: $(BUILD)/healer node_modules/.package-lock.json
	HEALER_BIN=$(abspath $(BUILD)/healer) PYTHONDONTWRITEBYTECODE=1 \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# ---- demo, bench, fuzz ----------------------------------------------------
demo: $(BUILD)/healer
	HEALER_BIN=$(abspath $(BUILD)/healer) $(PYTHON) tests/e2e/demo.py

bench: $(BUILD)/healer $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done
	HEALER_BIN=$(abspath $(BUILD)/healer) $(PYTHON) tests/bench/run_bench.py

fuzz:
	$(MAKE) -f tests/fuzz/Makefile.fuzz RUNS=$${RUNS:-200000}

install: $(BUILD)/healer
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/healer $(DESTDIR)$(PREFIX)/bin/healer
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 docs/man/healer.1 $(DESTDIR)$(PREFIX)/share/man/man1/healer.1

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
