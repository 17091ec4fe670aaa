include $(sort $(wildcard $(BR2_EXTERNAL_SEALINIT_PATH)/package/*/*.mk))
