# The `semihost` module of the mps2-an385 board (flashing/firmware.py adds USER_C_MODULES).
SEMIHOST_MOD_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(SEMIHOST_MOD_DIR)/semihost.c
