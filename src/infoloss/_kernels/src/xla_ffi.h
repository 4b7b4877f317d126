/* xla_ffi.h: the part of XLA's FFI C ABI that the JAX targets' handlers read (_xla_gate.pyx).
 *
 * Every structure is laid out field for field as in xla/ffi/api/c_api.h (shipped with
 * jaxlib in its include directory), whose layout is versioned and kept stable; only the
 * fields the handlers use are named, and a structure is declared only as far as its last
 * field read.  The package builds without jaxlib: nothing here needs its headers.
 */
#ifndef INFOLOSS_XLA_FFI_H
#define INFOLOSS_XLA_FFI_H

#include <stddef.h>
#include <stdint.h>

enum { IL_FFI_EXTENSION_METADATA = 1 };
enum { IL_FFI_STAGE_EXECUTE = 3 };
enum { IL_FFI_S32 = 4, IL_FFI_S64 = 5, IL_FFI_F32 = 11, IL_FFI_F64 = 12 };
enum { IL_FFI_INVALID_ARGUMENT = 3, IL_FFI_INTERNAL = 13 };
/* The API version the handlers declare when XLA asks at registration. */
enum { IL_FFI_API_MAJOR = 0, IL_FFI_API_MINOR = 1 };

typedef struct il_ffi_ext {
    size_t struct_size;
    int type;
    struct il_ffi_ext *next;
} il_ffi_ext;

typedef struct {
    size_t struct_size;
    il_ffi_ext *extension_start;
    int major_version;
    int minor_version;
} il_ffi_version;

typedef struct {
    size_t struct_size;
    il_ffi_version api_version;
    uint32_t traits;
    int64_t state_type_id;
} il_ffi_metadata;

typedef struct {
    il_ffi_ext extension_base;
    il_ffi_metadata *metadata;
} il_ffi_metadata_ext;

typedef struct {
    size_t struct_size;
    il_ffi_ext *extension_start;
    int dtype;
    void *data;
    int64_t rank;
    int64_t *dims;
} il_ffi_buffer;

typedef struct {            /* XLA_FFI_Args and XLA_FFI_Rets */
    size_t struct_size;
    il_ffi_ext *extension_start;
    int64_t size;
    void *types;
    void **items;           /* il_ffi_buffer *, every argument here being a buffer */
} il_ffi_list;

typedef struct {
    const char *ptr;
    size_t len;
} il_ffi_span;

typedef struct {
    int dtype;
    void *value;
} il_ffi_scalar;

typedef struct {
    size_t struct_size;
    il_ffi_ext *extension_start;
    int64_t size;
    int *types;
    il_ffi_span **names;
    void **attrs;           /* il_ffi_scalar *, every attribute here being a scalar */
} il_ffi_attrs;

typedef struct {
    size_t struct_size;
    il_ffi_ext *extension_start;
    const char *message;
    int errc;
} il_ffi_error_args;

typedef void *(*il_ffi_error_create)(il_ffi_error_args *args);

typedef struct {
    size_t struct_size;
    il_ffi_ext *extension_start;
    il_ffi_version api_version;
    const void *internal_api;
    il_ffi_error_create error_create;   /* the first of the API's functions */
} il_ffi_api;

typedef struct {
    size_t struct_size;
    il_ffi_ext *extension_start;
    const il_ffi_api *api;
    void *ctx;
    int stage;
    il_ffi_list args;
    il_ffi_list rets;
    il_ffi_attrs attrs;
    void *future;
} il_ffi_frame;

#endif
