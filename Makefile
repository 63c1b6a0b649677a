# The README's two commands live here: `make run` and `make test`.
# Everything else is plumbing for them.
.PHONY: all deps build run test test-release test-asan test-fuzz bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	cmake --preset release -DBG_WERROR=ON >/dev/null
	cmake --build --preset release

# Builds, creates a development PKI on first run, starts the demo Core and the
# gateway on deploy/examples/bordergate.yaml.
run: build
	scripts/dev-run

# Every test: unit + integration (release), the same under ASan+UBSan, and a
# short run of every fuzz target.
test: deps
	scripts/run-tests

test-release: deps
	scripts/run-tests release

test-asan: deps
	scripts/run-tests asan

test-fuzz: deps
	scripts/run-tests fuzz

bench: build
	bench/run-all

clean:
	rm -rf build
