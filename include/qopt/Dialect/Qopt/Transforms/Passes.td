//===- Passes.td - qopt dialect passes ---------------------*- tablegen -*-===//

#ifndef QOPT_DIALECT_QOPT_TRANSFORMS_PASSES_TD
#define QOPT_DIALECT_QOPT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ExpandQMatmul : Pass<"qopt-expand-qmatmul"> {
  let summary = "Split qopt.qmatmul into its integer product and epilogue";
  let description = [{
    With quantized activations, `qopt.qmatmul` becomes `qopt.integer_matmul`
    (exact int32 partial sums per weight group, zero points included) and a
    linalg dequantization epilogue: `sum_g sa[m] * sw[n, g] * acc[m, n, g]`
    in f32, the bias, the result type. Weight-only `qopt.qmatmul` becomes
    `qopt.dequantize` of the weights and an f32-accumulating matmul (which
    elementwise fusion later turns into dequantization inside the loop).
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def BitplaneDecompose : Pass<"qopt-bitplane-decompose"> {
  let summary = "Rewrite integer matmuls into binary bit-plane products";
  let description = [{
    `qopt.integer_matmul` of p-bit weights and q-bit activations becomes
    p*q binary matrix products (as in ABQ-LLM and FlexQ):

    1. `qopt.bitplane_pack` of both operands (weights from constants are
       packed at compile time; activations at run time);
    2. `qopt.bitplane_popcount`: the p*q popcount partial products, per
       weight group;
    3. `qopt.bitplane_combine`: their sum with weights 2^(i+j), negative for
       two's-complement sign planes;
    4. zero-point corrections: `- zw * rowsum(A) - za * rowsum(W) +
       K_g * za * zw`, with weight row sums precomputed for constant
       weights and activation row sums computed at run time.

    The result equals the integer matmul exactly. Group sizes must be
    multiples of 32 (one group per run of whole words); other integer
    matmuls are left as they are.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def CpuPackWeightFields
    : Pass<"qopt-cpu-pack-weight-fields", "mlir::func::FuncOp"> {
  let summary = "Store constant bit-plane weights as bit fields for the CPU";
  let description = [{
    Rewrites `qopt.bitplane_unpack` of a constant into `qopt.field_unpack`
    of a constant repacked at compile time: each 32-bit word holds
    `F = 32 / B` consecutive K values of one row (B-bit fields, least
    significant first; for B = 1, 2, 4 and 8 as byte quads, field f at bit
    8 (f % 4) + B (f / 4), so a VNNI block takes four K values of a column
    as bytes with a shift and a mask). Bit planes are the GPU kernels'
    layout; decoding them on the CPU takes a shift, a mask and a merge per
    plane for every weight, while a field is two shifts. Storage: B bits
    per weight for B = 1, 2, 4, 8 (as planes), 3.2 for B = 3, 5.33 for
    B = 5, 6.4 for B = 6 and 8 for B = 7.

    With `quad-slices` (what qcc sets for a CPU with quad dot products:
    AVX-512 VNNI, or AVX2 / AVX-512 BW's vpmaddubsw), signed weights of a
    width that does not divide a byte which a `qopt.qmatmul` multiplies by
    integer activations become `qopt.field_slices_unpack` instead: their
    bits split into byte-quad slices of 4, 2 and 1 bits (3 = 2 + 1,
    5 = 4 + 1, 6 = 4 + 2, 7 = 4 + 2 + 1), each slice in words of its own,
    so quad dot blocks get the bytes of four K values with a shift, a mask
    and a shift a slice, or'd; B bits a weight exactly. Weight-only
    matmuls, zero-point (unsigned) weights and CPUs without quad dot
    products decode one value at a time, for which two shifts of a whole
    field cost less.

    Runs on the CPU variant only, before `convert-qopt-to-linalg`; unpacks
    of non-constant planes are left alone.

    ```mlir
    %p = arith.constant dense<...> : tensor<3x64x10xi32>
    %w = qopt.bitplane_unpack %p : tensor<3x64x10xi32> -> tensor<64x300x!qopt.int<s3>>
    // becomes
    %f = arith.constant dense<...> : tensor<64x30xi32>
    %w = qopt.field_unpack %f {fields_per_word = 10} : tensor<64x30xi32> -> tensor<64x300x!qopt.int<s3>>
    // or, with quad-slices and integer activations,
    %lo = arith.constant dense<...> : tensor<64x19xi32>
    %hi = arith.constant dense<...> : tensor<64x10xi32>
    %w = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 2, 1>} : tensor<64x19xi32>, tensor<64x10xi32> -> tensor<64x300x!qopt.int<s3>>
    ```
  }];
  let options = [
    Option<"quadSlices", "quad-slices", "bool", /*default=*/"false",
           "Store weights of widths that do not divide a byte, multiplied "
           "by integer activations, as byte-quad slices (for VNNI quad dot "
           "products)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif // QOPT_DIALECT_QOPT_TRANSFORMS_PASSES_TD
