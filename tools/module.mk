# tools/: sealctl, the host CLI over the library.
SEALCTL_SRCS += tools/sealctl.c tools/util.c tools/sealcmd.c tools/cmd_keygen.c \
	tools/cmd_seal.c tools/cmd_verify.c tools/cmd_inspect.c tools/cmd_anchor.c tools/cmd_kc.c \
	tools/cmd_doctor.c
