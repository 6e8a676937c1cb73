# mq - Kafka's commit log as files and Unix tools.
#
#   make            build libmq (static and shared) and the tools
#   make check      build and run every test (SANITIZE=1: under ASan+UBSan)
#   make demo       build, then run a short pipeline on a fresh data directory
#   make bench      run the benchmarks in bench/
#   make install    install into $(DESTDIR)$(PREFIX)
#   make deps       install missing Debian packages, or say which

VERSION   = 0.1.0
PREFIX   ?= /usr/local
BINDIR    = $(PREFIX)/bin
LIBDIR    = $(PREFIX)/lib
INCDIR    = $(PREFIX)/include
MANDIR    = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(PREFIX)/share/zsh/site-functions

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -Ilibmq
LDLIBS    = -lz -linih -pthread

ifeq ($(SANITIZE),1)
BUILD    ?= build-san
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
else
BUILD    ?= build
endif

LIB_SRC   = $(wildcard libmq/*.c)
LIB_OBJ   = $(LIB_SRC:libmq/%.c=$(BUILD)/libmq/%.o)
TOOL_COMMON_SRC = $(filter-out cmd/mq-%.c,$(wildcard cmd/*.c))
TOOL_COMMON_OBJ = $(TOOL_COMMON_SRC:cmd/%.c=$(BUILD)/cmd/%.o)
TOOLS     = $(patsubst cmd/%.c,$(BUILD)/%,$(wildcard cmd/mq-*.c))
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNITS     = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELPERS = $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
# LD_PRELOAD shims and helper programs the CLI tests use; built without
# sanitizers.
SHIMS     = $(patsubst tests/shims/%.c,$(BUILD)/tests/%.so,$(wildcard tests/shims/*.c)) \
            $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(wildcard tests/tools/*.c))

all: $(BUILD)/libmq.a $(BUILD)/libmq.so $(BUILD)/libmq.pc $(TOOLS)

$(BUILD)/libmq/%.o: libmq/%.c libmq/*.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -fPIC -c -o $@ $<

$(BUILD)/libmq.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libmq.so: $(LIB_OBJ)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libmq.so.0 -o $@ $^ $(LDLIBS)

$(BUILD)/libmq.pc: libmq/libmq.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(BUILD)/cmd/%.o: cmd/%.c cmd/*.h libmq/mq.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c -o $@ $<

$(BUILD)/mq-%: $(BUILD)/cmd/mq-%.o $(TOOL_COMMON_OBJ) $(BUILD)/libmq.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_HELPERS) $(BUILD)/libmq.a libmq/*.h tests/unit/*.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) -o $@ $< $(UNIT_HELPERS) $(BUILD)/libmq.a $(LDLIBS) -lcmocka $(LDFLAGS)

$(BUILD)/tests/%.so: tests/shims/%.c tests/shims/*.h
	@mkdir -p $(@D)
	$(CC) -O2 $(WARN) -fPIC -shared -o $@ $<

$(BUILD)/tests/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) -O2 $(WARN) -o $@ $<

deps:
	@sh mk/deps.sh

check: deps
	@$(MAKE) --no-print-directory all units
	@sh mk/check.sh $(BUILD)

units: $(UNITS) $(SHIMS)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh mk/demo.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	@for b in bench/*.sh; do sh $$b $(BUILD) || exit 1; done

lint-man:
	mandoc -Tlint -W warning man/*.[1357]

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)
	install -m 644 $(BUILD)/libmq.a $(DESTDIR)$(LIBDIR)
	install -m 755 $(BUILD)/libmq.so $(DESTDIR)$(LIBDIR)/libmq.so.0
	ln -sf libmq.so.0 $(DESTDIR)$(LIBDIR)/libmq.so
	install -m 644 $(BUILD)/libmq.pc $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 libmq/mq.h $(DESTDIR)$(INCDIR)
	for m in man/*.1; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man1; done; true
	for m in man/*.3; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man3; done; true
	for m in man/*.5; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man5; done; true
	for m in man/*.7; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man7; done; true
	for t in $(TOOLS); do install -m 644 completions/mq.bash $(DESTDIR)$(BASHCOMPDIR)/$$(basename $$t); done
	for c in completions/_*; do [ -e "$$c" ] && install -m 644 $$c $(DESTDIR)$(ZSHCOMPDIR); done; true

clean:
	rm -rf build build-san

.PHONY: all deps check units demo bench lint-man install clean

# Fuzzing and memory checking (tests/fuzz/README.md).
#   make fuzz [FUZZ_SECONDS=60]   build the libFuzzer targets with clang and
#                                 run each for FUZZ_SECONDS into build-fuzz/
#   make check-valgrind           the BATS suites with every tool run under
#                                 valgrind memcheck (slow; not in check)
FUZZ_SECONDS ?= 60

fuzz:
	@sh mk/fuzz.sh $(FUZZ_SECONDS)

check-valgrind: deps
	@$(MAKE) --no-print-directory all $(SHIMS)
	@sh mk/check-valgrind.sh $(BUILD)

# The fuzz regression runner includes the targets and the tool sources
# they drive.
$(BUILD)/tests/test_fuzz_regress: tests/fuzz/*.c tests/fuzz/*.h cmd/*.c cmd/*.h
# test_scan includes the scan of mq-produce's parallel path.
$(BUILD)/tests/test_scan: cmd/scan.c cmd/scan.h

clean: clean-fuzz
clean-fuzz:
	rm -rf build-fuzz build-vg

.PHONY: fuzz check-valgrind clean-fuzz
