"""The XLA FFI C ABI, as far as the handlers need it: a ``ctypes`` handler that XLA
calls with its buffers, viewed as NumPy arrays without a copy.

Structures are field for field as in ``xla/ffi/api/c_api.h`` (shipped in
``jaxlib/include``); only what the handlers read is declared.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from typing import Any

import numpy as np

_EXTENSION_METADATA = 1
_STAGE_EXECUTE = 3
_API_VERSION = (0, 1)
_DTYPES = {4: np.int32, 5: np.int64, 11: np.float32, 12: np.float64}
_ERROR_INTERNAL = 13


class _ExtensionBase(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("type", ctypes.c_int),
        ("next", ctypes.c_void_p),
    ]


class _ApiVersion(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("major_version", ctypes.c_int),
        ("minor_version", ctypes.c_int),
    ]


class _Metadata(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("api_version", _ApiVersion),
        ("traits", ctypes.c_uint32),
        ("state_type_id", ctypes.c_int64),
    ]


class _MetadataExtension(ctypes.Structure):
    _fields_ = [("extension_base", _ExtensionBase), ("metadata", ctypes.POINTER(_Metadata))]


class _Buffer(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("dtype", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("rank", ctypes.c_int64),
        ("dims", ctypes.POINTER(ctypes.c_int64)),
    ]


class _List(ctypes.Structure):  # XLA_FFI_Args and XLA_FFI_Rets
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("size", ctypes.c_int64),
        ("types", ctypes.c_void_p),
        ("items", ctypes.POINTER(ctypes.c_void_p)),
    ]


class _ByteSpan(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Scalar(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("value", ctypes.c_void_p)]


class _Attrs(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("size", ctypes.c_int64),
        ("types", ctypes.POINTER(ctypes.c_int)),
        ("names", ctypes.POINTER(ctypes.POINTER(_ByteSpan))),
        ("attrs", ctypes.POINTER(ctypes.c_void_p)),
    ]


class _CallFrame(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.POINTER(_ExtensionBase)),
        ("api", ctypes.c_void_p),
        ("ctx", ctypes.c_void_p),
        ("stage", ctypes.c_int),
        ("args", _List),
        ("rets", _List),
        ("attrs", _Attrs),
        ("future", ctypes.c_void_p),
    ]


class _ErrorCreateArgs(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("extension_start", ctypes.c_void_p),
        ("message", ctypes.c_char_p),
        ("errc", ctypes.c_int),
    ]


_ERROR_CREATE = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.POINTER(_ErrorCreateArgs))
_HANDLER = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.POINTER(_CallFrame))


def _array(address: int) -> np.ndarray:
    """The XLA buffer at ``address`` as a NumPy array over the same memory."""
    b = _Buffer.from_address(address)
    dtype = np.dtype(_DTYPES[b.dtype])
    shape = tuple(b.dims[i] for i in range(b.rank))
    size = math.prod(shape) * dtype.itemsize
    if size == 0:
        return np.empty(shape, dtype)
    raw = (ctypes.c_char * size).from_address(b.data)
    return np.frombuffer(raw, dtype).reshape(shape)


def _attributes(attrs: _Attrs) -> dict[str, float]:
    out = {}
    for i in range(attrs.size):
        span = attrs.names[i].contents
        name = ctypes.string_at(span.ptr, span.len).decode()
        scalar = _Scalar.from_address(attrs.attrs[i])
        kind = ctypes.c_double if scalar.dtype == 12 else ctypes.c_int64
        out[name] = kind.from_address(scalar.value).value
    return out


def _error(api: int, text: str) -> int | None:
    # XLA_FFI_Api: struct_size, extension_start, api_version (24 bytes), internal_api,
    # then the function pointers, XLA_FFI_Error_Create first.
    create = ctypes.c_void_p.from_address(api + 8 + 8 + ctypes.sizeof(_ApiVersion) + 8)
    args = _ErrorCreateArgs(ctypes.sizeof(_ErrorCreateArgs), None, text.encode(), _ERROR_INTERNAL)
    result: int | None = _ERROR_CREATE(create.value or 0)(ctypes.byref(args))
    return result


def _handler(body: Callable[[list[np.ndarray], list[np.ndarray], dict[str, float]], None]) -> Any:
    """An XLA FFI handler (execute stage) that runs ``body(inputs, outputs, attributes)``
    on NumPy views of XLA's buffers."""

    def call(frame_p: Any) -> int | None:
        frame = frame_p.contents
        ext = frame.extension_start
        if ext and ext.contents.type == _EXTENSION_METADATA:  # asked at registration
            meta = ctypes.cast(ext, ctypes.POINTER(_MetadataExtension)).contents.metadata
            major, minor = _API_VERSION
            meta.contents.api_version = _ApiVersion(ctypes.sizeof(_ApiVersion), None, major, minor)
            meta.contents.traits = 0
            return None
        if frame.stage != _STAGE_EXECUTE:
            return None
        try:
            ins = [_array(frame.args.items[i]) for i in range(frame.args.size)]
            outs = [_array(frame.rets.items[i]) for i in range(frame.rets.size)]
            body(ins, outs, _attributes(frame.attrs))
        except BaseException as exc:  # an error for XLA to raise, never a crash
            return _error(frame.api, f"infoloss.jax: {type(exc).__name__}: {exc}")
        return None

    return _HANDLER(call)
