//===- QoptOps.td - qopt operation definitions -------------*- tablegen -*-===//

#ifndef QOPT_DIALECT_QOPT_IR_QOPTOPS_TD
#define QOPT_DIALECT_QOPT_IR_QOPTOPS_TD

include "qopt/Dialect/Qopt/IR/QoptBase.td"
include "qopt/Dialect/Qopt/IR/QoptTypes.td"
include "qopt/Dialect/Qopt/IR/QoptAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

// Constraint names are what diagnostics print ("ranked tensor of qopt.int").
def Qopt_AnyInt : Type<CPred<"::llvm::isa<::qopt::IntType>($_self)">,
                       "qopt.int", "::qopt::IntType">;
def Qopt_IntTensor : RankedTensorOf<[Qopt_AnyInt]>;
def Qopt_FloatTensor : RankedTensorOf<[F16, BF16, F32]>;
def Qopt_ScaleTensor : RankedTensorOf<[F16, BF16, F32]>;
def Qopt_ZeroPointTensor : RankedTensorOf<[I32]>;

//===----------------------------------------------------------------------===//
// quantize / dequantize
//===----------------------------------------------------------------------===//

def Qopt_QuantizeOp : Qopt_Op<"quantize", [Pure]> {
  let summary = "quantize a floating-point tensor to low-bit integers";
  let description = [{
    Computes, element by element,
    `q = clamp(round(x / scale) + zero_point, min, max)`
    where `min`/`max` is the range of the result's `!qopt.int` element type,
    `round` is the scheme's rounding mode, and `scale`/`zero_point` are read
    at the index the scheme assigns to each element (see
    `#qopt.scheme`). NaN quantizes to the zero point.

    Scales (and zero points) are operands, so they may be constants
    (weights, static activations) or computed at run time (dynamic
    per-token activations). A zero point is given exactly when the scheme is
    asymmetric.

    Example (dynamic per-token, 8-bit asymmetric):
    ```mlir
    %q = qopt.quantize %x, %s, %zp {scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
        : (tensor<?x4096xf32>, tensor<?xf32>, tensor<?xi32>) -> tensor<?x4096x!qopt.int<u8>>
    ```
  }];
  let arguments = (ins Qopt_FloatTensor:$input, Qopt_ScaleTensor:$scale,
                   Optional<Qopt_ZeroPointTensor>:$zero_point,
                   Qopt_QuantSchemeAttr:$scheme);
  let results = (outs Qopt_IntTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    IntType getStorageType() {
      return ::llvm::cast<IntType>(getResult().getType().getElementType());
    }
  }];
}

def Qopt_DequantizeOp : Qopt_Op<"dequantize", [Pure]> {
  let summary = "map low-bit integers back to floating point";
  let description = [{
    Computes, element by element, `x = (q - zero_point) * scale`, with scale
    and zero point read at the index the scheme assigns to each element.
    `qopt.dequantize` never folds with a preceding `qopt.quantize`: the pair
    is the quantization error the model will see, not an identity.

    Example (4-bit weights, groups of 128 along the reduction dimension):
    ```mlir
    %w = qopt.dequantize %qw, %s {scheme = #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric>}
        : (tensor<4096x4096x!qopt.int<s4>>, tensor<4096x32xf16>) -> tensor<4096x4096xf16>
    ```
  }];
  let arguments = (ins Qopt_IntTensor:$input, Qopt_ScaleTensor:$scale,
                   Optional<Qopt_ZeroPointTensor>:$zero_point,
                   Qopt_QuantSchemeAttr:$scheme);
  let results = (outs Qopt_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    IntType getStorageType() {
      return ::llvm::cast<IntType>(getInput().getType().getElementType());
    }
  }];
}

//===----------------------------------------------------------------------===//
// storage_cast
//===----------------------------------------------------------------------===//

def Qopt_StorageCastOp : Qopt_Op<"storage_cast", [Pure]> {
  let summary = "reinterpret between qopt.int tensors and builtin integer tensors";
  let description = [{
    Converts between a tensor of `!qopt.int<sN>`/`!qopt.int<uN>` and a tensor
    of the same shape with a signless builtin integer element type at least N
    bits wide. This is how quantized data enters and leaves the qopt world:
    ONNX int8/uint8/int4 tensors, weights read from a model file, buffers a
    lowering hands to a kernel.

    * builtin -> qopt: the low N bits of each integer are the value (two's
      complement for signed storage); higher bits are ignored.
    * qopt -> builtin: the value is sign-extended (signed storage) or
      zero-extended (unsigned storage).

    The round trip qopt -> builtin -> qopt is the identity and folds; the
    other direction truncates and does not.

    ```mlir
    %q = qopt.storage_cast %raw : tensor<16x64xi8> to tensor<16x64x!qopt.int<s4>>
    ```
  }];
  let arguments = (ins RankedTensorOf<[Qopt_AnyInt, AnySignlessInteger]>:$input);
  let results = (outs RankedTensorOf<[Qopt_AnyInt, AnySignlessInteger]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// qmatmul
//===----------------------------------------------------------------------===//

def Qopt_QMatmulOp : Qopt_Op<"qmatmul", [Pure, AttrSizedOperandSegments]> {
  let summary = "quantized matrix product with a fused dequantization epilogue";
  let description = [{
    `Y[m, n] = sum_k A[m, k] * W[n, k] (+ bias[n])`, where `W` holds the
    weights as `[N, K]` (one row per output channel, the reduction dimension
    contiguous, as in `torch.nn.Linear` and as every packed kernel wants).

    Weights are quantized (`!qopt.int`, 1 to 8 bits) with `weight_scale` and,
    for an asymmetric `weight_scheme`, `weight_zero_point`. The weight scheme
    is per-tensor, per-channel (`axis = 0`, scale `[N]`) or per-group
    (`axis = 1`, scale `[N, K / group_size]`).

    Activations are either
    * quantized (`!qopt.int`, 1 to 8 bits: the WpAq case), with
      `act_scale`/`act_zero_point` and `act_scheme` per-tensor or per-token
      (`per_channel(axis = 0)`, scale `[M]`); the product is then exact
      integer arithmetic followed by the dequantization epilogue
      `Y = sum_g sa[m] * sw[n, g] * sum_{k in g} (A - za)(W - zw)`; or
    * floating point (f16, bf16, f32: weight-only quantization), with no
      activation scale, zero point or scheme.

    The result is f32, f16 or bf16. `bias`, when present, is `[N]`.

    Example (W4A8, per-group weights, dynamic per-token activations):
    ```mlir
    %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) bias(%b)
        {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>,
         weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric>}
        : (tensor<?x4096x!qopt.int<s8>>, tensor<?xf32>, tensor<11008x4096x!qopt.int<s4>>,
           tensor<11008x32xf32>, tensor<11008xf32>) -> tensor<?x11008xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[Qopt_AnyInt, F16, BF16, F32]>:$act,
    Optional<Qopt_ScaleTensor>:$act_scale,
    Optional<Qopt_ZeroPointTensor>:$act_zero_point,
    Qopt_IntTensor:$weight,
    Qopt_ScaleTensor:$weight_scale,
    Optional<Qopt_ZeroPointTensor>:$weight_zero_point,
    Optional<Qopt_FloatTensor>:$bias,
    OptionalAttr<Qopt_QuantSchemeAttr>:$act_scheme,
    Qopt_QuantSchemeAttr:$weight_scheme);
  let results = (outs Qopt_FloatTensor:$result);
  let assemblyFormat = [{
    $act (`scale` `(` $act_scale^ `)`)? (`zero_point` `(` $act_zero_point^ `)`)? `,`
    $weight `scale` `(` $weight_scale `)` (`zero_point` `(` $weight_zero_point^ `)`)?
    (`bias` `(` $bias^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True when activations are floating point (weight-only quantization).
    bool isWeightOnly() {
      return ::llvm::isa<::mlir::FloatType>(getAct().getType().getElementType());
    }
    IntType getWeightStorageType() {
      return ::llvm::cast<IntType>(getWeight().getType().getElementType());
    }
    /// The activation storage type, or null for weight-only quantization.
    IntType getActStorageType() {
      return ::llvm::dyn_cast<IntType>(getAct().getType().getElementType());
    }
  }];
}

//===----------------------------------------------------------------------===//
// integer_matmul
//===----------------------------------------------------------------------===//

def Qopt_IntegerMatmulOp : Qopt_Op<"integer_matmul",
                                   [Pure, AttrSizedOperandSegments]> {
  let summary = "exact integer matrix product with zero points, per weight group";
  let description = [{
    The integer part of a quantized matmul:

    `acc[m, n, g] = sum_{k in group g} (A[m, k] - za) * (W[n, k] - zw)`

    with `A` `[M, K]` and `W` `[N, K]` of `!qopt.int` values, `za` per tensor
    (`[]`) or per row (`[M]`), `zw` per tensor, per output channel (`[N]`)
    or per group (`[N, G]`). Groups are runs of `group_size` values along K
    (`group_size = 0`: one group of all K). The result is `[M, N, K /
    group_size]` in i32, exact as long as no partial sum leaves the i32
    range (K * 2^(p+q) < 2^31 suffices).

    This is what `qopt.qmatmul` computes before its dequantization epilogue;
    `qopt-expand-qmatmul` splits the two, and `qopt-bitplane-decompose`
    rewrites this op into bit planes.
  }];
  let arguments = (ins Qopt_IntTensor:$act,
                       Optional<Qopt_ZeroPointTensor>:$act_zero_point,
                       Qopt_IntTensor:$weight,
                       Optional<Qopt_ZeroPointTensor>:$weight_zero_point,
                       I64Attr:$group_size);
  let results = (outs RankedTensorOf<[I32]>:$result);
  let assemblyFormat = [{
    $act (`zero_point` `(` $act_zero_point^ `)`)? `,` $weight
    (`zero_point` `(` $weight_zero_point^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Bit planes
//===----------------------------------------------------------------------===//

def Qopt_BitplanePackOp : Qopt_Op<"bitplane_pack", [Pure]> {
  let summary = "split low-bit integers into bit planes packed in 32-bit words";
  let description = [{
    `planes[b, r, w]` holds bit `b` of `input[r, 32 * w + t]` in its bit `t`
    (`t` in 0..31, least significant first): plane-major, one row of packed
    words per input row, K padded with zeros to a multiple of `k_pad` bits
    (the K of the binary tensor-core MMA, 256, by default; the group size
    when groups are not whole MMA steps). Plane `b` of a signed (two's-complement) input of `B` bits is its
    sign plane when `b = B - 1`.

    The result's shape is `[B, R, ceil(K / k_pad) * k_pad / 32]`.

    ```mlir
    %p = qopt.bitplane_pack %w {k_pad = 256} : tensor<64x300x!qopt.int<s3>> -> tensor<3x64x16xi32>
    ```
  }];
  let arguments = (ins Qopt_IntTensor:$input,
                       DefaultValuedAttr<I64Attr, "256">:$k_pad);
  let results = (outs RankedTensorOf<[I32]>:$planes);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($planes)";
  let hasVerifier = 1;
}

def Qopt_BitplaneUnpackOp : Qopt_Op<"bitplane_unpack", [Pure]> {
  let summary = "reassemble low-bit integers from their bit planes";
  let description = [{
    The inverse of `qopt.bitplane_pack`: `result[r, k]` is the integer whose
    bit `b` is bit `k % 32` of `planes[b, r, k / 32]`, read as a
    two's-complement value for a signed result type. The planes may hold
    more words than K needs (padding); the result's K is its own dimension.

    This is how quantized weights are stored in a compiled model: `B` bits
    per weight, plane-major, the layout the bit-plane kernels consume
    directly.

    ```mlir
    %w = qopt.bitplane_unpack %planes : tensor<3x64x16xi32> -> tensor<64x300x!qopt.int<s3>>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I32]>:$planes);
  let results = (outs Qopt_IntTensor:$result);
  let assemblyFormat = "$planes attr-dict `:` type($planes) `->` type($result)";
  let hasVerifier = 1;
}

def Qopt_FieldUnpackOp : Qopt_Op<"field_unpack", [Pure]> {
  let summary = "unpack low-bit integers stored as bit fields of 32-bit words";
  let description = [{
    `result[r, k]` is field `f = k % F` of word `words[r, k / F]`, with
    `F` = `fields_per_word`: the `B` bits (the result's width) from bit
    `B * f` up, least significant first, read as a two's-complement value
    for a signed result type. `F * B` must not exceed 32; the words may
    hold more fields than K needs (padding).

    With `byte_quads` (B dividing 8, F a multiple of 4), field `f` starts
    at bit `8 * (f % 4) + B * (f / 4)` instead: fields `4i .. 4i + 3` are
    bits `B * i` up of bytes 0 to 3, so one shift and one mask of the word
    give the four of them as bytes, the byte quads of a VNNI dot product
    (`qopt.x86.vpdpbusd`).

    This is the CPU's layout of quantized weights: one word holds `F`
    consecutive values of K, so a vector of words, one per output column,
    yields one K step of a register block with two uniform shifts, where
    bit planes (`qopt.bitplane_unpack`) take a shift, a mask and a merge
    per plane. `qopt-cpu-pack-weight-fields` converts constant bit planes
    to it.

    ```mlir
    %w = qopt.field_unpack %words {fields_per_word = 10} : tensor<64x30xi32> -> tensor<64x300x!qopt.int<s3>>
    %v = qopt.field_unpack %nibbles {fields_per_word = 8, byte_quads} : tensor<64x32xi32> -> tensor<64x256x!qopt.int<s4>>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I32]>:$words,
                       I64Attr:$fields_per_word,
                       UnitAttr:$byte_quads);
  let results = (outs Qopt_IntTensor:$result);
  let assemblyFormat = "$words attr-dict `:` type($words) `->` type($result)";
  let hasVerifier = 1;
}

def Qopt_FieldSlicesUnpackOp : Qopt_Op<"field_slices_unpack", [Pure]> {
  let summary = "unpack low-bit integers whose bits are stored as slices of "
                "byte-quad bit fields";
  let description = [{
    The bits of each value are split, least significant first, into slices
    of the widths in `slice_bits` (each dividing 8; their sum `B` is the
    result's width). Slice `s` of `result[r, k]` (its `b_s` bits, from bit
    `o_s` = the sum of the earlier widths up) is field `k % F_s` of word
    `slices[s][r, k / F_s]`, with `F_s = 32 / b_s` fields a word in the
    byte-quad layout of `qopt.field_unpack`'s `byte_quads`. The whole `B`
    bits are read as a two's-complement value for a signed result type.

    This is how the CPU stores widths that do not divide a byte (3 = 2 + 1,
    5 = 4 + 1, 6 = 4 + 2, 7 = 4 + 2 + 1): with no padding bits, and so that
    a VNNI dot product (`qopt.x86.vpdpbusd`) gets four K values of a column
    as bytes from one shift, mask and shift per slice merged by an or,
    where fields packed `floor(32 / B)` to a word would have to be
    shuffled apart.

    ```mlir
    %w = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 4, 2>} : tensor<64x32xi32>, tensor<64x16xi32> -> tensor<64x256x!qopt.int<s6>>
    ```
  }];
  let arguments = (ins Variadic<RankedTensorOf<[I32]>>:$slices,
                       DenseI64ArrayAttr:$slice_bits);
  let results = (outs Qopt_IntTensor:$result);
  let assemblyFormat =
      "$slices attr-dict `:` type($slices) `->` type($result)";
  let hasVerifier = 1;
}

def Qopt_BitplanePopcountOp : Qopt_Op<"bitplane_popcount", [Pure]> {
  let summary = "the p*q binary matrix products of two bit-plane tensors";
  let description = [{
    `partials[i, j, m, n, g] = sum_{w in group g} popcount(A[j, m, w] & W[i, n, w])`

    for activation planes `A` `[Q, M, KW]` and weight planes `W`
    `[P, N, KW]`: one binary matrix product per (weight plane i, activation
    plane j), split into groups of `group_words` words along K. This is what
    a binary tensor-core MMA (`mma.sync ... .b1 ... .and.popc`) computes.
    The result is `[P, Q, M, N, KW / group_words]` i32.
  }];
  let arguments = (ins RankedTensorOf<[I32]>:$act_planes,
                       RankedTensorOf<[I32]>:$weight_planes,
                       I64Attr:$group_words);
  let results = (outs RankedTensorOf<[I32]>:$partials);
  let assemblyFormat = [{
    $act_planes `,` $weight_planes attr-dict `:` type($act_planes) `,`
    type($weight_planes) `->` type($partials)
  }];
  let hasVerifier = 1;
}

def Qopt_BitplaneCombineOp : Qopt_Op<"bitplane_combine", [Pure]> {
  let summary = "weight the binary partial products by 2^(i+j) and sum them";
  let description = [{
    `acc[m, n, g] = sum_{i, j} c_i * c_j * 2^(i + j) * partials[i, j, m, n, g]`

    where `c_i = -1` for the sign plane of signed weights (`i = P - 1` with
    `weight_signed`) and 1 otherwise, likewise `c_j` for activations. With
    `partials` from `qopt.bitplane_popcount`, `acc` is the exact integer
    product of the original (two's-complement or unsigned) values.
  }];
  let arguments = (ins RankedTensorOf<[I32]>:$partials,
                       BoolAttr:$weight_signed, BoolAttr:$act_signed);
  let results = (outs RankedTensorOf<[I32]>:$result);
  let assemblyFormat = "$partials attr-dict `:` type($partials) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// CPU target operations
//===----------------------------------------------------------------------===//

def Qopt_X86PmaddwdOp : Qopt_Op<"x86.pmaddwd", [Pure]> {
  let summary = "AVX2 / AVX-512 BW multiply of i16 pairs, added into i32 lanes";
  let description = [{
    `result[i] = lhs[2i] * rhs[2i] + lhs[2i + 1] * rhs[2i + 1]`, with the
    products and their sum exact in i32 for i16 operands (the one exception
    of the instruction, -32768 * -32768 twice, wraps).

    The x86 `vpmaddwd` on 512-bit registers (AVX-512 BW), which LLVM fuses
    with a following i32 addition into `vpdpwssd` on CPUs with AVX-512
    VNNI, or on 256-bit ones (AVX2). `qopt-cpu-tile-and-vectorize` emits it
    for 8-bit integer matmul blocks when the target has AVX-512 BW, and
    after `qopt.x86.pmaddubsw` for byte-quad blocks;
    `qopt-lower-x86-to-llvm` turns it into `llvm.x86.avx512.pmaddw.d.512`
    or `llvm.x86.avx2.pmadd.wd`. An op rather than the intrinsic call
    itself, because an LLVM intrinsic call has unknown memory effects and
    buffer deallocation rejects those.
  }];
  let arguments = (ins VectorOfLengthAndType<[16, 32], [I16]>:$lhs,
                       VectorOfLengthAndType<[16, 32], [I16]>:$rhs);
  let results = (outs VectorOfLengthAndType<[8, 16], [I32]>:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qopt_X86PmaddubswOp : Qopt_Op<"x86.pmaddubsw", [Pure]> {
  let summary = "AVX2 / AVX-512 BW multiply of unsigned by signed byte pairs, "
                "summed into saturated i16 lanes";
  let description = [{
    `result[i] = sat16(unsigned[2i] * signed[2i] + unsigned[2i + 1] *
    signed[2i + 1])`, the first bytes zero-extended, the second
    sign-extended, the sum saturated to i16. Exact (no saturation) when the
    unsigned bytes are below 128: two products of at most 127 * 128.

    The x86 `vpmaddubsw` on 256-bit (AVX2) or 512-bit (AVX-512 BW)
    registers. Followed by `qopt.x86.pmaddwd` with ones, it is the byte quad
    dot product of CPUs without VNNI: `qopt-cpu-tile-and-vectorize` emits
    the pair for blocks of an integer matmul of signed 8-bit activations and
    unsigned weights of at most 7 bits when the target has `int8-pmaddubsw`;
    `qopt-lower-x86-to-llvm` turns it into `llvm.x86.avx2.pmadd.ub.sw` or
    `llvm.x86.avx512.pmaddubs.w.512`.
  }];
  let arguments = (ins VectorOfLengthAndType<[32, 64], [I8]>:$unsigned_bytes,
                       VectorOfLengthAndType<[32, 64], [I8]>:$signed_bytes);
  let results = (outs VectorOfLengthAndType<[16, 32], [I16]>:$result);
  let assemblyFormat = [{
    $unsigned_bytes `,` $signed_bytes attr-dict `:` type($unsigned_bytes) `,`
    type($signed_bytes) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Qopt_X86VpdpbusdOp : Qopt_Op<"x86.vpdpbusd", [Pure]> {
  let summary = "AVX-512 VNNI dot products of byte quads, added into i32 lanes";
  let description = [{
    `result[i] = acc[i] + sum_{j < 4} unsigned[4i + j] * signed[4i + j]`,
    the first bytes zero-extended, the second sign-extended, the sum
    wrapping in i32 (each product fits 16 bits, so the four of a lane are
    exact).

    The x86 `vpdpbusd` on 512-bit registers (AVX-512 VNNI): 64 products per
    instruction, twice `vpdpwssd`'s. `qopt-cpu-tile-and-vectorize` emits it
    for blocks of an integer matmul of signed 8-bit activations and
    unsigned 8-bit weights when the target has AVX-512 VNNI;
    `qopt-lower-x86-to-llvm` turns it into `llvm.x86.avx512.vpdpbusd.512`.
  }];
  let arguments = (ins VectorOfLengthAndType<[16], [I32]>:$acc,
                       VectorOfLengthAndType<[64], [I8]>:$unsigned_bytes,
                       VectorOfLengthAndType<[64], [I8]>:$signed_bytes);
  let results = (outs VectorOfLengthAndType<[16], [I32]>:$result);
  let assemblyFormat = [{
    $acc `,` $unsigned_bytes `,` $signed_bytes attr-dict `:` type($acc) `,`
    type($unsigned_bytes) `,` type($signed_bytes) `->` type($result)
  }];
}

#endif // QOPT_DIALECT_QOPT_IR_QOPTOPS_TD
