"""LLVM intrinsics that Numba does not expose, for kernels.

``prefetch(array, i)`` hints that ``array``'s flat element ``i`` is read soon: in loops whose
next load address depends on the last load (a k-way merge picks the next event from what it
just read), out-of-order execution cannot run ahead and every cache miss stalls a step; a
prefetch issued a few steps early hides it. ``leading_zeros(x)`` counts the zero bits above
the highest set bit of a uint64 (64 for 0), one instruction on current CPUs; likewise
``trailing_zeros(x)`` below the lowest. ``load_u64(bytes_array, i)`` reads the 8 bytes from
``i`` on as one uint64 (any alignment; little-endian on the CPUs cift runs on), for parsers
that test 8 bytes at a time.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["leading_zeros", "load_u64", "prefetch", "trailing_zeros"]


@intrinsic
def prefetch(typingctx, array, index):
    """Prefetch element ``index`` of ``array``'s flat buffer (C order) into all cache levels."""
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        ptr = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]),
            "llvm.prefetch.p0")
        # read, highest temporal locality, data cache
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


def _zero_bits(x, llvm_name: str):
    """(signature, codegen) of an intrinsic counting zero bits of the uint64 ``x`` with
    LLVM's ``llvm_name`` (ctlz, cttz), asked to give 64 for 0."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i64, [i64, ir.IntType(1)]), llvm_name)
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 0)])

    return types.uint64(x), codegen


@intrinsic
def leading_zeros(typingctx, x):
    """The number of leading zero bits of the uint64 ``x`` (64 when ``x`` is 0)."""
    return _zero_bits(x, "llvm.ctlz.i64")


@intrinsic
def trailing_zeros(typingctx, x):
    """The number of trailing zero bits of the uint64 ``x`` (64 when ``x`` is 0)."""
    return _zero_bits(x, "llvm.cttz.i64")


@intrinsic
def load_u64(typingctx, array, index):
    """The 8 bytes of the uint8 ``array`` (C order) from flat index ``index`` on, as one
    uint64 read at any alignment. The caller keeps ``index + 8`` within the array."""
    if not (isinstance(array, types.Array) and array.dtype == types.uint8
            and isinstance(index, types.Integer)):
        return None
    sig = types.uint64(array, index)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        ptr = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(64).as_pointer())
        return builder.load(ptr, align=1)

    return sig, codegen
