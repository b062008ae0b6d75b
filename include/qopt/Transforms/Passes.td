//===- Passes.td - qopt general transforms -----------------*- tablegen -*-===//

#ifndef QOPT_TRANSFORMS_PASSES_TD
#define QOPT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ExpandShapeToReinterpretCast : Pass<"qopt-expand-shape-to-reinterpret-cast"> {
  let summary = "Rewrite memref.expand_shape into memref.reinterpret_cast";
  let description = [{
    Replaces every `memref.expand_shape` by a `memref.reinterpret_cast` of
    the source's base buffer whose sizes are the op's output shape and whose
    strides follow from the source strides. Runs before
    `expand-strided-metadata`, whose own expand_shape rewrite (MLIR 22)
    crashes when one reassociation group has more than one dynamic dim, as
    `[batch * seq, d] -> [batch, seq, d]` does.
  }];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def CpuTileAndVectorize : Pass<"qopt-cpu-tile-and-vectorize",
                                "mlir::func::FuncOp"> {
  let summary = "Register-tile and vectorize matmul-like linalg ops for the CPU";
  let description = [{
    The CPU codegen strategy for contractions, on tensors before
    bufferization:

    1. `linalg.conv_2d_nchw_fchw` becomes im2col + a matmul-like contraction
       (when `im2col` is set).
    2. Every contraction (matmul, batch_matmul, contraction generics, such as
       the integer matmuls of `convert-qopt-to-linalg`) is tiled over its
       innermost M and N dims by `tile-m` x `tile-n` (other parallel dims by
       1), then over its innermost K dim by 1.
    3. The innermost tile is vectorized to `vector.contract` (masked where a
       dim is dynamic), which `convert-vector-to-llvm` with
       `vector-contract-lowering=outerproduct` turns into FMAs on a register
       block; `loop-invariant-subset-hoisting` afterwards keeps the
       accumulator block in registers across the K loop.

    Ops that fail to vectorize are left tiled, as scalar loops.
  }];
  let options = [
    Option<"tileM", "tile-m", "int64_t", /*default=*/"8",
           "Rows of the register block">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"32",
           "Columns of the register block">,
    Option<"im2col", "im2col", "bool", /*default=*/"true",
           "Rewrite 2-D NCHW convolutions as im2col + matmul">
  ];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::vector::VectorDialect"];
}

def MathApproximation : Pass<"qopt-math-approximation"> {
  let summary = "Replace transcendental math ops by vectorizable polynomials";
  let description = [{
    Rewrites `math.erf`, `math.tanh`, `math.exp`, `math.expm1`, `math.log`,
    `math.log1p` and `math.log2` on f32 (and, widened to f32, f16/bf16) into
    MLIR's polynomial approximations (accurate to a few ulp), so loops that
    use them vectorize instead of calling libm once per element.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

def ExpandBF16Conversions : Pass<"qopt-expand-bf16-conversions"> {
  let summary = "Rewrite bf16 <-> f32 conversions as integer bit operations";
  let description = [{
    Rewrites `arith.extf` from bf16 to f32 (a 16-bit shift) and
    `arith.truncf` from f32 to bf16 (round to nearest even on the bits, NaN
    kept) as integer operations, scalar or vector, using upstream's
    `arith::populateExpandBFloat16Patterns`. The CPU lowering runs it before
    LLVM: LLVM's x86 back end cannot legalize some bf16 vector conversions
    (`fpext <1 x bfloat>`, which vectorized bf16 convolutions produce, ends
    in "Do not know how to soft promote this operator's operand"). Ops
    inside `gpu.module`s are left alone (the GPU has bf16 conversions).
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif // QOPT_TRANSFORMS_PASSES_TD
