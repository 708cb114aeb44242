# apicv-trace: top-level commands (see README.md).
#
#   make              build module/apicv_trace.ko for the running kernel
#                     (or KVER=..., or KDIR=/path/to/headers)
#   make install      build and install with DKMS for KVER
#   make uninstall    remove it from DKMS
#   make check        every test: ring, W=1 + sparse, DKMS, QEMU e2e
#   make demo         boot Debian 6.1 in QEMU, run rebooting VMs, show
#                     what apicv-trace recorded
#   make clean
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
LINE ?= 6.1

all: module

module:
	$(MAKE) -C module KVER=$(KVER) KDIR=$(KDIR)

install:
	scripts/dkms.sh install $(KVER)

uninstall:
	scripts/dkms.sh remove

check:
	scripts/check.sh $(LINE)

demo:
	scripts/demo.sh $(LINE)

clean:
	-$(MAKE) -C module KVER=$(KVER) KDIR=$(KDIR) clean
	$(MAKE) -C tests/ring clean
	$(MAKE) -C tests/e2e clean

.PHONY: all module install uninstall check demo clean
