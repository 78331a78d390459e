# The two README commands, plus bench and fuzz. Every target installs what is
# missing first (scripts/deps), so a fresh Debian machine needs nothing else.
JOBS ?= $(shell nproc)

.PHONY: all run test bench fuzz clean deps build build-test

all: build

deps:
	@scripts/deps

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS)

build-test: deps
	@cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DPOSTBOX_SANITIZE=ON >/dev/null
	@cmake --build build-test -j$(JOBS)

run: build
	@scripts/demo

test: build build-test
	@scripts/check-banned
	@scripts/check-layers
	@cd build-test && ctest --output-on-failure -j$(JOBS)

bench: build
	@scripts/deps bench
	@bench/smtp-ingest
	@bench/imap

fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOSTBOX_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS)
	@scripts/fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-test build-fuzz
