# healer - build, test, demo, bench.
#   make            build build/healer
#   make test       unit tests (Criterion) + integration tests (local stand-ins)
#   make demo       run the engine end to end on the local stand-ins
#   make bench      benchmarks that print figures (not part of test)
#   make soak       chaos soak, 10,000 executions (~15 min; docs/RELIABILITY.md)
#   make fuzz       libFuzzer targets, longer runs (RUNS=N or FUZZ_TIME=S each)
#   make test-sanitize  unit + integration tests on the ASan/UBSan build
#   make test-tsan  the threaded parts under ThreadSanitizer (tests/tsan)
#   make valgrind   the unit tests under valgrind memcheck
#   make tf-schema  regenerate the AWS provider schema (downloads; not in test)
#   make image-check  build the image's root filesystem with debootstrap and run
#                   healer in it as ECS would (root; downloads; not in test)
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
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
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

.PHONY: all test test-unit test-integration demo bench fuzz clean install \
        fuzz-smoke test-sanitize test-tsan tsan-run valgrind
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
test: test-unit test-integration fuzz-smoke

test-unit: $(BUILD)/unit-tests $(BUILD)/healer
	HEALER_BIN=$(abspath $(BUILD)/healer) $(BUILD)/unit-tests --jobs 2

# Node tools (dynalite, ASL validator/interpreter, HCL parser), pinned.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

test-integration: $(BUILD)/healer node_modules/.package-lock.json
	HEALER_BIN=$(abspath $(BUILD)/healer) PYTHONDONTWRITEBYTECODE=1 \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# ---- fuzzing, sanitizers, valgrind ---------------------------------------
# Every libFuzzer target for a fixed number of inputs (tests/fuzz/Makefile.fuzz).
fuzz-smoke:
	$(MAKE) -f tests/fuzz/Makefile.fuzz smoke

# The unit and integration suites on the ASan/UBSan build: HEALER_BIN is
# build/san-address-undefined/healer.
test-sanitize:
	$(MAKE) test-unit test-integration SANITIZE=address,undefined

# Criterion cannot run under TSan here: tests/tsan/*.c are standalone
# drivers of the threaded parts, built and run with SANITIZE=thread.
TSAN_BIN := $(patsubst tests/tsan/%.c,$(BUILD)/tsan/%,$(wildcard tests/tsan/*.c))
test-tsan:
	$(MAKE) SANITIZE=thread tsan-run

tsan-run: $(TSAN_BIN)
	@for t in $(TSAN_BIN); do echo "== $$t"; \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $$TSAN_OPTIONS" $$t || exit 1; done

$(BUILD)/tsan/%: tests/tsan/%.c $(BUILD)/obj/tests/support/local_endpoint.o $(BUILD)/libhealer.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/support $(LDFLAGS) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

valgrind: $(BUILD)/unit-tests $(BUILD)/healer
	HEALER_BIN=$(abspath $(BUILD)/healer) tests/valgrind/run_valgrind.sh $(BUILD)/unit-tests

# ---- demo, bench, fuzz ----------------------------------------------------
demo: $(BUILD)/healer node_modules/.package-lock.json
	HEALER_BIN=$(abspath $(BUILD)/healer) $(PYTHON) tests/e2e/demo.py

# healer vs the boto3 and Node (step-function-worker) workers: a table,
# build/bench.json and the plots in docs/bench/ (gnuplot). BENCH_QUICK=1: ~3 min.
bench: $(BUILD)/healer $(BENCH_BIN) node_modules/.package-lock.json
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done
	HEALER_BIN=$(abspath $(BUILD)/healer) SIGV4_BENCH=$(abspath $(BUILD)/bench/sigv4_bench) \
	  $(PYTHON) tests/bench/run_bench.py
	$(PYTHON) tests/bench/plot_bench.py build/bench.json docs/bench

fuzz:
	$(MAKE) -f tests/fuzz/Makefile.fuzz RUNS=$${RUNS:-200000}

# The long chaos soak (tests/soak/soak.py; the short one runs in `make test`).
# SOAK_ARGS passes options, e.g. SOAK_ARGS='--seed 7 --json soak.json'.
.PHONY: soak
soak: $(BUILD)/healer node_modules/.package-lock.json
	HEALER_BIN=$(abspath $(BUILD)/healer) $(PYTHON) tests/soak/soak.py --preset long $(SOAK_ARGS)

# The AWS provider schema of the types terraform/ uses, for the offline
# Terraform checks: `npm pack`s @cdktf/provider-aws (~37 MB) into a temporary
# directory (never node_modules or package.json) and rewrites
# terraform/.schema/aws-provider-schema.json. Run it when terraform/ uses a
# new resource or data-source type; `make test` only reads the JSON.
TF_SCHEMA_PACKAGE ?= @cdktf/provider-aws@21.22.1
.PHONY: tf-schema
tf-schema: node_modules/.package-lock.json
	node scripts/tf-schema/extract.js --package $(TF_SCHEMA_PACKAGE)

# The container image without a container engine (scripts/image-check.sh):
# debootstrap's minbase of the Dockerfile's base, its runtime stage, then
# healer as PID 1 in it. Root; downloads Debian packages; ~2-5 minutes.
.PHONY: image-check
image-check: $(BUILD)/healer node_modules/.package-lock.json
	HEALER_BIN=$(abspath $(BUILD)/healer) scripts/image-check.sh

install: $(BUILD)/healer
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/healer $(DESTDIR)$(PREFIX)/bin/healer
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 docs/man/healer.1 $(DESTDIR)$(PREFIX)/share/man/man1/healer.1

clean:
	rm -rf build

# $(BUILD), not build: a BUILD=/tmp/x build must see its header changes too.
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
