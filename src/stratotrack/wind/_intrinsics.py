"""The wind sampler's LLVM intrinsic (numba typing and code generation): imported only once numba is loaded
(:func:`stratotrack._jit.load`), and bound then to ``_corner_sums`` in :mod:`stratotrack.wind._sample`.  Its plain
twin is :func:`stratotrack.engine._twins.corner_sums_py`."""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def _corner_sums(typingctx, flat, bases, weights, off_a, off_b):
    """Weighted sums over the 8 corners of two runs of 4 consecutive floats each: returns 8 float64
    ``(sum_c w_c * flat[b_c + off_a + q] for q in 0..3) + (sum_c w_c * flat[b_c + off_b + q] for q in 0..3)``.

    Written as LLVM vector code (4 x float32 loads widened to 4 x float64, multiply-add in corner order) because
    numba does not vectorise the scalar form; it is the sampler's inner loop.
    """
    if not (isinstance(flat, types.Array) and flat.ndim == 1 and flat.dtype == types.float32
            and flat.layout == "C" and isinstance(bases, types.UniTuple) and bases.count == 8
            and isinstance(bases.dtype, types.Integer) and isinstance(weights, types.UniTuple)
            and weights.count == 8 and weights.dtype == types.float64):
        return None
    sig = types.UniTuple(types.float64, 8)(flat, bases, weights, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        f32, f64, i64 = ir.FloatType(), ir.DoubleType(), ir.IntType(64)
        v4f, v4d = ir.VectorType(f32, 4), ir.VectorType(f64, 4)
        zero_mask = ir.Constant(ir.VectorType(ir.IntType(32), 4), [0, 0, 0, 0])
        flags = ("fast",)
        runs = [builder.sext(args[3], i64) if args[3].type != i64 else args[3],
                builder.sext(args[4], i64) if args[4].type != i64 else args[4]]
        # one partial sum per run and time knot (corners 0-3, 4-7): shorter dependency chains than one sum
        acc = [[None, None], [None, None]]
        for c in range(8):
            b = builder.extract_value(args[1], c)
            if b.type != i64:
                b = builder.sext(b, i64)
            w = builder.extract_value(args[2], c)
            wv = builder.shuffle_vector(builder.insert_element(ir.Constant(v4d, None), w, ir.Constant(i64, 0)),
                                        ir.Constant(v4d, None), zero_mask)
            for r in range(2):
                ptr = builder.gep(ary.data, [builder.add(b, runs[r])], inbounds=True, source_etype=f32)
                # the cast makes the pointee <4 x float> where pointers are typed (llvmlite 0.44); a no-op where
                # they are opaque (later llvmlite)
                vptr = builder.bitcast(ptr, v4f.as_pointer())
                x = builder.fpext(builder.load(vptr, align=4, typ=v4f), v4d)
                term = builder.fmul(x, wv, flags=flags)
                part = acc[r][c // 4]
                acc[r][c // 4] = term if part is None else builder.fadd(part, term, flags=flags)
        sums = [builder.fadd(acc[r][0], acc[r][1], flags=flags) for r in range(2)]
        vals = [builder.extract_element(sums[r], ir.Constant(i64, q)) for r in range(2) for q in range(4)]
        return context.make_tuple(builder, signature.return_type, vals)

    return sig, codegen
