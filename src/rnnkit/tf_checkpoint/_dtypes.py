"""TensorFlow ``DataType`` enum values <-> NumPy dtypes (the ones a checkpoint stores as raw bytes)."""

from __future__ import annotations

import numpy as np

DT_STRING = 7
DT_BFLOAT16 = 14

#: enum value -> (TF name, little-endian NumPy storage dtype). bfloat16 is stored as uint16 bit patterns.
TF_DTYPES: dict[int, tuple[str, str]] = {
    1: ("float32", "<f4"),
    2: ("float64", "<f8"),
    3: ("int32", "<i4"),
    4: ("uint8", "|u1"),
    5: ("int16", "<i2"),
    6: ("int8", "|i1"),
    8: ("complex64", "<c8"),
    9: ("int64", "<i8"),
    10: ("bool", "|b1"),
    14: ("bfloat16", "<u2"),
    17: ("uint16", "<u2"),
    18: ("complex128", "<c16"),
    19: ("float16", "<f2"),
    22: ("uint32", "<u4"),
    23: ("uint64", "<u8"),
}

#: enum values TF defines but rnnkit does not read (named in error messages).
OTHER_TF_DTYPES = {
    7: "string",
    11: "qint8",
    12: "quint8",
    13: "qint32",
    15: "qint16",
    16: "quint16",
    20: "resource",
    21: "variant",
}

_BY_NUMPY = {
    np.dtype(storage).newbyteorder("<"): enum
    for enum, (_, storage) in TF_DTYPES.items()
    if enum != 14
}


def dtype_name(enum: int) -> str:
    """TF's name for a DataType value ("float32", "bfloat16", "string", ...)."""
    if enum in TF_DTYPES:
        return TF_DTYPES[enum][0]
    return OTHER_TF_DTYPES.get(enum, f"<DataType {enum}>")


def enum_for_numpy(dtype: np.dtype) -> int | None:
    """The DataType for a NumPy dtype, or None when TF has no raw-bytes equivalent."""
    return _BY_NUMPY.get(np.dtype(dtype).newbyteorder("<"))


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 is the top half of a float32: shift the 16 stored bits up (exact)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def float32_to_bfloat16(values: np.ndarray) -> np.ndarray:
    """Round float32 to the nearest bfloat16 (ties to even, NaN kept quiet) as uint16 bit patterns."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))
    out = (rounded >> 16).astype(np.uint16)
    nan = np.isnan(values)
    out[nan] = ((bits[nan] >> 16) | np.uint32(0x40)).astype(np.uint16)
    return out
