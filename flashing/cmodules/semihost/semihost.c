// semihost: the host's files and clock through Arm semihosting, for the QEMU MPS2 AN385 board
// (qemu-system-arm -semihosting). Vafa keeps the board's flash in a host file with it
// (agent/device/board.py: a littlefs block device) and takes the board's real-time clock from
// the host. Part of vafa's firmware (flashing/firmware.py, docs/flashing.md "The ARM board").
//
//   semihost.open(path, mode) -> handle      mode: the SYS_OPEN number (1 "rb", 3 "r+b", 7 "w+b")
//   semihost.read(handle, buf) -> n          fills buf from the current position; bytes read
//   semihost.write(handle, buf)              all of buf, or OSError
//   semihost.seek(handle, position)
//   semihost.flen(handle) -> bytes
//   semihost.close(handle)
//   semihost.time() -> seconds since 1970    the host's clock (SYS_TIME)
//
// mp_hal_time_ns() is defined here too: littlefs stamps files with it, and the port has none.
// Every call traps into QEMU: without -semihosting the board stops on the breakpoint.

#include <stdint.h>
#include <string.h>

#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"

#define SYS_OPEN (0x01)
#define SYS_CLOSE (0x02)
#define SYS_WRITE (0x05)
#define SYS_READ (0x06)
#define SYS_SEEK (0x0A)
#define SYS_FLEN (0x0C)
#define SYS_TIME (0x11)
#define SYS_ERRNO (0x13)

static int semihost_call(int op, const void *args) {
    register int r0 __asm__ ("r0") = op;
    register const void *r1 __asm__ ("r1") = args;
    __asm__ volatile ("bkpt 0xab" : "+r" (r0) : "r" (r1) : "memory");
    return r0;
}

static MP_NORETURN void raise_host_error(void) {
    int err = semihost_call(SYS_ERRNO, NULL);
    mp_raise_OSError(err > 0 ? err : MP_EIO);
}

static mp_obj_t semihost_open(mp_obj_t path_in, mp_obj_t mode_in) {
    size_t len;
    const char *path = mp_obj_str_get_data(path_in, &len);
    uint32_t args[3] = { (uint32_t)path, (uint32_t)mp_obj_get_int(mode_in), len };
    int handle = semihost_call(SYS_OPEN, args);
    if (handle == -1) {
        raise_host_error();
    }
    return MP_OBJ_NEW_SMALL_INT(handle);
}
static MP_DEFINE_CONST_FUN_OBJ_2(semihost_open_obj, semihost_open);

static mp_obj_t semihost_close(mp_obj_t handle_in) {
    uint32_t args[1] = { (uint32_t)mp_obj_get_int(handle_in) };
    if (semihost_call(SYS_CLOSE, args) != 0) {
        raise_host_error();
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(semihost_close_obj, semihost_close);

static mp_obj_t semihost_read(mp_obj_t handle_in, mp_obj_t buf_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_WRITE);
    uint32_t args[3] = { (uint32_t)mp_obj_get_int(handle_in), (uint32_t)buf.buf, buf.len };
    int left = semihost_call(SYS_READ, args); // the bytes NOT read
    if (left < 0 || (size_t)left > buf.len) {
        raise_host_error();
    }
    return MP_OBJ_NEW_SMALL_INT(buf.len - left);
}
static MP_DEFINE_CONST_FUN_OBJ_2(semihost_read_obj, semihost_read);

static mp_obj_t semihost_write(mp_obj_t handle_in, mp_obj_t buf_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_READ);
    uint32_t args[3] = { (uint32_t)mp_obj_get_int(handle_in), (uint32_t)buf.buf, buf.len };
    if (semihost_call(SYS_WRITE, args) != 0) { // the bytes NOT written
        raise_host_error();
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(semihost_write_obj, semihost_write);

static mp_obj_t semihost_seek(mp_obj_t handle_in, mp_obj_t pos_in) {
    uint32_t args[2] = { (uint32_t)mp_obj_get_int(handle_in), (uint32_t)mp_obj_get_int(pos_in) };
    if (semihost_call(SYS_SEEK, args) != 0) {
        raise_host_error();
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(semihost_seek_obj, semihost_seek);

static mp_obj_t semihost_flen(mp_obj_t handle_in) {
    uint32_t args[1] = { (uint32_t)mp_obj_get_int(handle_in) };
    int len = semihost_call(SYS_FLEN, args);
    if (len < 0) {
        raise_host_error();
    }
    return mp_obj_new_int(len);
}
static MP_DEFINE_CONST_FUN_OBJ_1(semihost_flen_obj, semihost_flen);

static mp_obj_t semihost_time(void) {
    return mp_obj_new_int_from_uint((uint32_t)semihost_call(SYS_TIME, NULL));
}
static MP_DEFINE_CONST_FUN_OBJ_0(semihost_time_obj, semihost_time);

uint64_t mp_hal_time_ns(void) {
    return (uint64_t)(uint32_t)semihost_call(SYS_TIME, NULL) * 1000000000ULL;
}

static const mp_rom_map_elem_t semihost_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_semihost) },
    { MP_ROM_QSTR(MP_QSTR_open), MP_ROM_PTR(&semihost_open_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&semihost_close_obj) },
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&semihost_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&semihost_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_seek), MP_ROM_PTR(&semihost_seek_obj) },
    { MP_ROM_QSTR(MP_QSTR_flen), MP_ROM_PTR(&semihost_flen_obj) },
    { MP_ROM_QSTR(MP_QSTR_time), MP_ROM_PTR(&semihost_time_obj) },
};
static MP_DEFINE_CONST_DICT(semihost_globals, semihost_globals_table);

const mp_obj_module_t semihost_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&semihost_globals,
};

MP_REGISTER_MODULE(MP_QSTR_semihost, semihost_module);
