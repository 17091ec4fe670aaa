# tools/: sealctl, the host CLI over the library.  Its --help texts, its
# man page, sealinit's and the bash completion come from docs/man/*.txt
# through tools/mkhelp (one source, so they cannot drift).
GEN := $(BUILD)/gen
SEALCTL_SRCS += tools/sealctl.c tools/util.c tools/sealcmd.c tools/out.c tools/json.c \
	tools/signer.c tools/cmd_keygen.c tools/cmd_key.c tools/cmd_seal.c tools/cmd_verify.c \
	tools/cmd_inspect.c tools/cmd_anchor.c tools/cmd_kc.c tools/cmd_doctor.c tools/cmd_set.c tools/cmd_update.c tools/cmd_device.c tools/cmd_tpm.c $(GEN)/help.c

# The device's sealctl: stage, status, confirm, revert, built for
# the target with sealinit's compiler and libraries, into the system image
# (qemu/mksystem) or an integrator's root file system.
SEALCTL_DEVICE_SRCS := tools/sealctl.c tools/util.c tools/sealcmd.c tools/out.c tools/json.c \
	tools/cmd_device.c tools/cmd_tpm.c update/fs.c mount/resolve.c $(GEN)/help.c
SEALCTL_DEVICE := $(TB)/sealctl
$(TB)/obj/tools/sealctl.o: TARGET_CFLAGS += -DSEALCTL_DEVICE
# (its link rule is in the Makefile: it needs every module's LIB_SRCS)

$(GEN)/help.c: docs/man/sealctl.txt tools/mkhelp
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)
	$(Q)$(PY) tools/mkhelp c $< > $@.tmp && mv $@.tmp $@

ERR_DEFS := $(sort $(wildcard */err.def */*_err.def))
MAN_PAGES := $(BUILD)/man/sealctl.1 $(BUILD)/man/sealinit.7
COMPLETION := $(BUILD)/completion/sealctl

$(BUILD)/man/sealctl.1: docs/man/sealctl.txt tools/mkhelp
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)
	$(Q)$(PY) tools/mkhelp man $< > $@.tmp && mv $@.tmp $@

$(BUILD)/man/sealinit.7: docs/man/sealinit.txt tools/mkhelp $(ERR_DEFS) docs/boot-flow.md
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)
	$(Q)$(PY) tools/mkhelp man $< $(ERR_DEFS) > $@.tmp && mv $@.tmp $@

$(COMPLETION): docs/man/sealctl.txt tools/mkhelp
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)
	$(Q)$(PY) tools/mkhelp bash $< > $@.tmp && mv $@.tmp $@

.PHONY: man completion install
man: $(MAN_PAGES)
completion: $(COMPLETION)

# make install DESTDIR= PREFIX=: sealctl, both man pages, the completion.
# sealinit itself goes into the initramfs (qemu/mkinitramfs, or the
# Buildroot/Yocto packages in contrib/), not onto the build host.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
install: $(SEALCTL) $(MAN_PAGES) $(COMPLETION)
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man7" \
		"$(DESTDIR)$(BASHCOMPDIR)"
	install -m 0755 $(SEALCTL) "$(DESTDIR)$(BINDIR)/sealctl"
	install -m 0644 $(BUILD)/man/sealctl.1 "$(DESTDIR)$(MANDIR)/man1/sealctl.1"
	install -m 0644 $(BUILD)/man/sealinit.7 "$(DESTDIR)$(MANDIR)/man7/sealinit.7"
	install -m 0644 $(COMPLETION) "$(DESTDIR)$(BASHCOMPDIR)/sealctl"
