SEALCTL_SRCS += tools/sealctl.c tools/util.c
