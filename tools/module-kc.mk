SEALCTL_SRCS += tools/cmd_kc.c
