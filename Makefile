# NNS economics services: ledger, governance, cmc.
# Entry points: make (build), make run, make test, make bench, make lint, make fmt, make asan,
# make tsan, make asan-services.

BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
PKGS    := libpq libmicrohttpd jansson yajl libsodium libcrypto libcurl zlib

STRICT  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wcast-qual -Wpointer-arith -Wformat=2 -Wundef -Wvla \
           -Wnull-dereference -Wimplicit-fallthrough
INCS    := -Iservices/common -Iservices/ledger -Iapi/client
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(OPT) $(SAN) $(STRICT) $(INCS) $(PKG_CFLAGS)
LDFLAGS += $(SAN)
LDLIBS  += $(PKG_LIBS) -lpthread -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_SRC := $(wildcard services/common/*.c)
LEDGER_SRC := $(filter-out services/ledger/main.c,$(wildcard services/ledger/*.c))
CLIENT_SRC := $(filter-out api/client/nns.c,$(wildcard api/client/*.c))
UNIT_SRC   := $(wildcard tests/unit/check_*.c)
E2E_SRC    := $(wildcard tests/e2e/check_*.c)
TOOL_SRC   := $(wildcard tests/bench/*.c)

LIB_COMMON := $(BUILD)/lib/libnnscommon.a
LIB_LEDGER := $(BUILD)/lib/libnnsledger.a
LIB_CLIENT := $(BUILD)/lib/libnnsclient.a
LIBS       := $(LIB_LEDGER) $(LIB_CLIENT) $(LIB_COMMON)

SERVICES   := $(BUILD)/bin/nns-ledger
CLI        := $(BUILD)/bin/nns
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BINS  := $(patsubst %.c,$(BUILD)/tools/%,$(notdir $(TOOL_SRC)))
E2E_BINS   := $(patsubst tests/e2e/%.c,$(BUILD)/e2e/%,$(E2E_SRC))
DEPS_STAMP := build/.deps-ok

.PHONY: all deps run test unit asan tsan asan-services integration e2e bench bench-throughput bench-scale lint fmt clean
.DEFAULT_GOAL := all

all: $(DEPS_STAMP) $(SERVICES) $(CLI) $(TOOL_BINS) $(E2E_BINS)

# Debian packages: installed when root, otherwise the exact apt-get line is printed.
$(DEPS_STAMP): deploy/install-deps.sh
	@bash deploy/install-deps.sh
	@mkdir -p $(dir $@) && touch $@
deps: $(DEPS_STAMP)

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

GEN_MIGRATIONS := $(BUILD)/gen/migrations.c
$(GEN_MIGRATIONS): deploy/embed-sql.sh $(wildcard schema/*.sql)
	@mkdir -p $(dir $@)
	sh deploy/embed-sql.sh $@ $(sort $(wildcard schema/*.sql))
$(BUILD)/gen/migrations.o: $(GEN_MIGRATIONS)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB_COMMON): $(call obj,$(COMMON_SRC)) $(BUILD)/gen/migrations.o
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(LIB_LEDGER): $(call obj,$(LEDGER_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(LIB_CLIENT): $(call obj,$(CLIENT_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/bin/nns-ledger: $(call obj,services/ledger/main.c) $(LIB_LEDGER) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/nns: $(call obj,api/client/nns.c) $(LIB_CLIENT) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(CHECK_LIBS) $(LDLIBS)
$(BUILD)/e2e/%: $(call obj,tests/e2e/%.c) $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(CHECK_LIBS) $(LDLIBS)
$(BUILD)/tools/%: $(BUILD)/obj/tests/bench/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS) $(LDLIBS)
$(BUILD)/obj/tests/%.o: tests/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Unit suites (Check): pure code, no database, no network.
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; CK_FORK=yes $$t; done

# The same suites under AddressSanitizer and UndefinedBehaviorSanitizer.
ASAN_MAKE = $(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
asan:
	@$(ASAN_MAKE) unit

# The suites with threads of their own (the work pool's concurrent callers, the round loop; the
# HTTP server and the log) under ThreadSanitizer.
TSAN_SUITES := check_common check_obs
tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan OPT="-O1 -g" SAN="-fsanitize=thread" \
	  $(patsubst %,build/tsan/tests/%,$(TSAN_SUITES))
	@set -e; for t in $(TSAN_SUITES); do echo "== build/tsan/tests/$$t (ThreadSanitizer)"; \
	  CK_FORK=no TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/$$t; done

# The services built with the same sanitizers, under the integration and end-to-end suites: a
# memory error or undefined behaviour on any path those suites drive aborts the service and
# fails the suite. Leak checks stay with the unit suites (services end with threads parked).
SAN_BIN := build/asan/bin
asan-services: all
	@$(ASAN_MAKE) $(SAN_BIN)/nns-ledger $(SAN_BIN)/nns
	@export NNS_BIN=$(CURDIR)/$(SAN_BIN) ASAN_OPTIONS=detect_leaks=0:abort_on_error=1; \
	  bash tests/integration/run.sh && bash tests/e2e/run.sh

# Integration and end-to-end tests: a private PostgreSQL in a temporary folder.
integration: all
	@bash tests/integration/run.sh
e2e: all
	@bash tests/e2e/run.sh

test: all unit asan tsan integration e2e asan-services
	@echo "make test: all suites passed"

run: all
	@bash deploy/run.sh

# Throughput (signed transfers, single and batched, vs pgbench) and scale (SCALE_ACCOUNTS,
# SCALE_BLOCKS: reads, history pages, memory, restart time on a generated dataset).
bench: all
	@bash tests/bench/run.sh
	@bash tests/bench/scale.sh

bench-throughput: all
	@bash tests/bench/run.sh

bench-scale: all
	@bash tests/bench/scale.sh

lint:
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr -Iservices/common -Iservices/ledger -Iapi/client services api tests/unit
	@shellcheck -S warning -x deploy/*.sh tests/*.sh tests/*/*.sh .ci/run

fmt:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# keep intermediate objects (tests and tools), so a second make rebuilds nothing
.SECONDARY:
