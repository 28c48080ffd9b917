# NNS economics services: ledger, governance, cmc.
# Entry points: make (build), make run, make test, make bench, make lint, make fmt, make asan,
# make tsan, make asan-services, make alloc-fail, make cases, make browser, make fuzz.

BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
PKGS    := libpq libmicrohttpd jansson yajl libsodium libsecp256k1 libcrypto libcurl zlib

STRICT  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wcast-qual -Wpointer-arith -Wformat=2 -Wundef -Wvla \
           -Wnull-dereference -Wimplicit-fallthrough
# Include paths are per file: common code, the CLI, and tests and tools see services/common (which
# also holds the signing HTTP client, client.h, shared by the CLI and the services' calls to one
# another); a service's own files see services/common and services/<name> (set by SERVICE
# below), so two services' api.h or store.h can never collide.
INCS    := -Iservices/common
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(OPT) $(SAN) $(STRICT) $(INCS) $(PKG_CFLAGS)
LDFLAGS += $(SAN)
LDLIBS  += $(PKG_LIBS) -lpthread -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_SRC := $(wildcard services/common/*.c)
UNIT_SRC   := $(wildcard tests/unit/check_*.c)
E2E_SRC    := $(wildcard tests/e2e/check_*.c)
TOOL_SRC   := $(wildcard tests/bench/*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

LIB_COMMON := $(BUILD)/lib/libnnscommon.a
DEPS_STAMP := build/.deps-ok
SERVICE_NAMES :=
SERVICES      :=

# Tests and tools that use a service's own modules, by service: they compile with its include path
# and link its library (USES_<service> := files).
USES_ledger := tests/unit/check_batch.c tests/unit/check_block.c tests/unit/check_icrc3.c \
               tests/unit/check_call.c \
               tests/unit/check_ledger.c tests/unit/check_genesis.c tests/unit/check_request.c \
               tests/bench/gendata.c \
               tests/fuzz/fuzz_batch.c tests/fuzz/fuzz_body.c tests/fuzz/fuzz_block.c \
               tests/fuzz/fuzz_genesis.c tests/fuzz/fuzz_query.c

# SERVICE(name): build/bin/nns-<name> from services/<name>/*.c (main.c holds the wiring, the rest
# goes into build/lib/libnns<name>.a with the migrations of schema/<name>/*.sql, embedded as
# <NAME>_MIGRATIONS), compiled with -Iservices/common -Iservices/<name>, linked with libnnscommon.
# A new .c file in the folder is picked up by the next make.
define SERVICE
$(1)_SRC  := $$(filter-out services/$(1)/main.c,$$(wildcard services/$(1)/*.c))
$(1)_LIB  := $$(BUILD)/lib/libnns$(1).a
$(1)_GEN  := $$(BUILD)/gen/$(1)_migrations.c
$(1)_GOBJ := $$(BUILD)/obj/gen/$(1)_migrations.o
SERVICE_NAMES += $(1)
SERVICES += $$(BUILD)/bin/nns-$(1)

$$(call obj,$$($(1)_SRC) services/$(1)/main.c) $$($(1)_GOBJ): INCS := -Iservices/common -Iservices/$(1)
$$(call obj,$$(USES_$(1))): INCS += -Iservices/$(1)

$$($(1)_GEN): deploy/embed-sql.sh $$(wildcard schema/$(1)/*.sql)
	@mkdir -p $$(dir $$@)
	sh deploy/embed-sql.sh $$@ $(1) $$(sort $$(wildcard schema/$(1)/*.sql))
$$($(1)_GOBJ): $$($(1)_GEN) | $$(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -MMD -MP -c $$< -o $$@
$$($(1)_LIB): $$(call obj,$$($(1)_SRC)) $$($(1)_GOBJ)
	@mkdir -p $$(dir $$@)
	rm -f $$@ && $$(AR) rcs $$@ $$^
$$(BUILD)/bin/nns-$(1): $$(call obj,services/$(1)/main.c) $$($(1)_LIB) $$(LIB_COMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef

# The services: one line each. A new service adds its line here, e.g. for services/cmc/ and
# schema/cmc/: $(eval $(call SERVICE,cmc)). See docs/architecture.md,
# "Schemas and the Makefile line".
$(eval $(call SERVICE,ledger))

USES_cmc := tests/unit/check_cmc.c
$(eval $(call SERVICE,cmc))

USES_governance := tests/unit/check_governance.c tests/unit/check_governance_math.c
# the API layer's suite and fuzz targets (body.c, render.c, genesis.c)
USES_governance += tests/unit/check_governance_api.c tests/fuzz/fuzz_gov_body.c \
                   tests/fuzz/fuzz_gov_genesis.c
USES_governance += tests/bench/govstore.c
# proposals, votes, following (gov_proposal.h); rewards (gov_reward.h)
USES_governance += tests/unit/check_governance_proposals.c tests/unit/check_governance_rewards.c
# the proposal and vote bodies (proposal_body.c)
USES_governance += tests/unit/check_governance_proposal_body.c
$(eval $(call SERVICE,governance))

# service_libs(FILE): the libraries of the services FILE uses (USES_<service>).
service_libs = $(foreach s,$(SERVICE_NAMES),$(if $(filter $(1),$(USES_$(s))),$($(s)_LIB)))

CLI        := $(BUILD)/bin/nns
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BINS  := $(patsubst %.c,$(BUILD)/tools/%,$(notdir $(TOOL_SRC)))
E2E_BINS   := $(patsubst tests/e2e/%.c,$(BUILD)/e2e/%,$(E2E_SRC))

# ---- tests as data (tests/cases/README.md): the shared e2e harness and the cases runner.
# The runner drives every world folder of tests/cases against live services (run.sh starts
# them); `make cases` runs them, `make test` and `make asan-services` too.
E2E_HARNESS  := $(BUILD)/obj/tests/e2e/harness.o
CASES_RUNNER := $(BUILD)/cases/runner
$(CASES_RUNNER): $(BUILD)/obj/tests/cases/runner.o $(E2E_HARNESS) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(E2E_HARNESS) $(LIB_COMMON) $(CHECK_LIBS) $(LDLIBS)
$(BUILD)/obj/tests/cases/runner.o: CFLAGS += -Itests/e2e
.PHONY: cases
cases: all
	@bash tests/cases/run.sh
# ---- end of tests as data

.PHONY: all deps run test unit asan tsan asan-services alloc-fail fuzz fuzz-build fuzz-smoke \
	integration e2e browser bench bench-throughput bench-scale bench-cmc bench-governance lint fmt \
	clean
.DEFAULT_GOAL := all

all: $(DEPS_STAMP) $(SERVICES) $(CLI) $(TOOL_BINS) $(E2E_BINS) $(CASES_RUNNER)

# Debian packages: installed when root, otherwise the exact apt-get line is printed.
$(DEPS_STAMP): deploy/install-deps.sh
	@bash deploy/install-deps.sh
	@mkdir -p $(dir $@) && touch $@
deps: $(DEPS_STAMP)

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB_COMMON): $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# the CLI: every file of api/client (nns.c: the parser, ledger and cycles commands; neuron.c:
# the governance commands)
$(BUILD)/bin/nns: $(call obj,$(wildcard api/client/*.c)) $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Tests and tools link the libraries of the services they use (in that order), then the common
# library.
.SECONDEXPANSION:
$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $$(call service_libs,tests/unit/$$*.c) \
		  $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(filter %.a,$^) $(CHECK_LIBS) $(LDLIBS)
$(BUILD)/e2e/%: $(call obj,tests/e2e/%.c) $(E2E_HARNESS) $$(call service_libs,tests/e2e/$$*.c) \
		$(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(E2E_HARNESS) $(filter %.a,$^) $(CHECK_LIBS) $(LDLIBS)
$(BUILD)/fuzzers/%: $(call obj,tests/fuzz/%.c) $$(call service_libs,tests/fuzz/$$*.c) \
		    $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(filter %.a,$^) $(LDLIBS)
# Every tool links tests/bench/lib/benchhttp.o (what the service benchmarks share).
BENCH_LIB := $(BUILD)/obj/tests/bench/lib/benchhttp.o
$(call obj,$(TOOL_SRC)): INCS += -Itests/bench/lib
$(BUILD)/tools/%: $(BUILD)/obj/tests/bench/%.o $(BENCH_LIB) $$(call service_libs,tests/bench/$$*.c) \
		  $(LIB_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BENCH_LIB) $(filter %.a,$^) $(LDLIBS)

# Unit suites (Check): pure code, no database, no network.
# Check's timeouts catch a hung test, not a slow one: the sanitizers cost 2-5x and a shared host
# another 2x, so their builds scale every timeout (a test near Check's 4 s default otherwise times
# out on a loaded host).
CK_TIMEOUT_MULTIPLIER ?= 1
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; \
	  CK_FORK=yes CK_TIMEOUT_MULTIPLIER=$(CK_TIMEOUT_MULTIPLIER) $$t; done

# The same suites under AddressSanitizer and UndefinedBehaviorSanitizer.
ASAN_MAKE = $(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" CK_TIMEOUT_MULTIPLIER=10
asan:
	@$(ASAN_MAKE) unit

# The suites with threads of their own (the work pool's concurrent callers, the round loop; the
# HTTP server and the log; the call runner's workers) under ThreadSanitizer.
TSAN_SUITES := check_common check_obs check_budget check_call
tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan OPT="-O1 -g" SAN="-fsanitize=thread" \
	  $(patsubst %,build/tsan/tests/%,$(TSAN_SUITES))
	@set -e; for t in $(TSAN_SUITES); do echo "== build/tsan/tests/$$t (ThreadSanitizer)"; \
	  CK_FORK=no CK_TIMEOUT_MULTIPLIER=10 TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/$$t; done

# The services built with the same sanitizers, under the integration and end-to-end suites: a
# memory error or undefined behaviour on any path those suites drive aborts the service and
# fails the suite. Leak checks stay with the unit suites (services end with threads parked).
SAN_BIN := build/asan/bin
asan-services: all
	@$(ASAN_MAKE) $(addprefix $(SAN_BIN)/nns-,$(SERVICE_NAMES)) $(SAN_BIN)/nns
	@export NNS_BIN=$(CURDIR)/$(SAN_BIN) ASAN_OPTIONS=detect_leaks=0:abort_on_error=1; \
	  bash tests/integration/run.sh && bash tests/e2e/run.sh && bash tests/e2e/cmc.sh && \
	  bash tests/cases/run.sh

# Allocation failure on purpose (services/common/allocfail.h): the services built with ASan,
# UBSan and wrappers around the project's own malloc, calloc, realloc, strdup and strndup; the
# N-th allocation of one request fails, for every N (tests/integration/alloc_fail.sh, and
# alloc_fail_governance.sh for governance's commands and reads).
AF_BIN := build/allocfail/bin
AF_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
AF_UNITS := build/allocfail/tests/check_genesis
alloc-fail: all
	@$(MAKE) --no-print-directory BUILD=build/allocfail \
	  OPT="-O1 -g -fno-omit-frame-pointer -DNNS_ALLOC_FAIL" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all $(AF_WRAP)" \
	  $(addprefix $(AF_BIN)/nns-,$(SERVICE_NAMES)) $(AF_UNITS)
	@set -e; for t in $(AF_UNITS); do echo "== $$t (allocation failure)"; CK_FORK=yes $$t; done
	@NNS_ALLOCFAIL_BIN=$(CURDIR)/$(AF_BIN) bash tests/integration/alloc_fail.sh
	@NNS_ALLOCFAIL_BIN=$(CURDIR)/$(AF_BIN) bash tests/integration/alloc_fail_governance.sh

# Integration and end-to-end tests: a private PostgreSQL in a temporary folder.
integration: all
	@bash tests/integration/run.sh
e2e: all
	@bash tests/e2e/run.sh
	@bash tests/e2e/cmc.sh

# A wallet page in headless Chromium calling the ledger on another origin (CORS).
browser: all
	@set -e; for t in tests/browser/test_*.sh; do echo "== $$t"; bash $$t; done

# libFuzzer targets (tests/fuzz/README.md), one per parser of outside bytes, built by clang with
# ASan and UBSan in build/fuzz (the normal build does not need clang). `make fuzz` runs each for
# FUZZ_SECONDS from a copy of its seed corpus (tests/fuzz/corpus/<name>; FUZZ_MERGE=1 merges what
# it found back, minimised; FUZZ_TARGETS="batch body" runs only those); `make test` runs each
# for FUZZ_SMOKE seconds.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE   ?= 3
FUZZ_MERGE   ?= 0
FUZZ_TARGETS ?=
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_MAKE = $(MAKE) --no-print-directory BUILD=build/fuzz CC=clang \
	    OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
fuzz-build: $(DEPS_STAMP)
	@$(FUZZ_MAKE) $(patsubst %,build/fuzz/fuzzers/fuzz_%,$(FUZZ_NAMES))
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_MERGE=$(FUZZ_MERGE) bash tests/fuzz/run.sh $(FUZZ_TARGETS)
fuzz-smoke: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SMOKE) FUZZ_MERGE=0 bash tests/fuzz/run.sh

test: all unit asan tsan integration e2e cases browser asan-services alloc-fail fuzz-smoke
	@echo "make test: all suites passed"

run: all
	@bash deploy/run.sh

# Throughput (signed transfers vs pgbench: closed loop single and batched, single with every
# commit delayed, open loop at BENCH_RATE with and without the delay; about 8 minutes, BENCH_*
# knobs in tests/bench/run.sh) and scale (SCALE_ACCOUNTS, SCALE_BLOCKS: reads, history pages,
# memory, restart time on a generated dataset).
bench: all
	@bash tests/bench/run.sh
	@bash tests/bench/scale.sh
	@bash tests/bench/cmc.sh
	@bash tests/bench/governance.sh
	@bash tests/bench/governance_proposals.sh

bench-throughput: all
	@bash tests/bench/run.sh

bench-scale: all
	@bash tests/bench/scale.sh

# Top-up notifications per second through the cycles minting service (tests/bench/cmc.sh).
bench-cmc: all
	@bash tests/bench/cmc.sh

# Governance at scale (tests/bench/governance.sh): GOV_BENCH_NEURONS (400,000) genesis neurons,
# then claims/s end to end, neuron reads/s and lists/s with p99, memory per neuron, restart time;
# then proposals (tests/bench/governance_proposals.sh): a following graph, proposal creation and
# one vote's cascade end to end, memory per ballot, the day's reward rounds, PASS/MISS.
bench-governance: all
	@bash tests/bench/governance.sh
	@bash tests/bench/governance_proposals.sh

# cppcheck with the include paths of the compile: common code, the CLI and the unit suites
# and fuzz targets that use no service; then each service with the suites and targets that use it.
CPPCHECK = cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr
USES_ANY = $(foreach s,$(SERVICE_NAMES),$(USES_$(s)))
lint:
	@$(CPPCHECK) $(INCS) services/common api $(filter-out $(USES_ANY),$(UNIT_SRC) $(FUZZ_SRC))
	@$(foreach s,$(SERVICE_NAMES),$(CPPCHECK) -Iservices/common -Iservices/$(s) services/$(s) && \
	  $(CPPCHECK) $(INCS) -Iservices/$(s) $(filter $(UNIT_SRC) $(FUZZ_SRC),$(USES_$(s))) &&) true
	@shellcheck -S warning -x deploy/*.sh tests/*.sh tests/*/*.sh .ci/run

fmt:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# keep intermediate objects (tests and tools), so a second make rebuilds nothing
.SECONDARY:
