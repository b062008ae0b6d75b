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

def FuseElementwise : Pass<"qopt-fuse-elementwise"> {
  let summary = "Fuse elementwise linalg ops unless fusion recomputes them";
  let description = [{
    Upstream's `linalg-fuse-elementwise-ops` (producer/consumer fusion of
    elementwise `linalg.generic`s, reshape folding by expansion, the same
    canonicalizations) with one more rule: an elementwise producer is not
    fused into an operand that its consumer reads broadcast along one of the
    consumer's reduction or other loops (an indexing map that leaves a loop
    out), unless the producer is a single cast. Fusing it there would run the
    producer once per iteration of the missing loop: a weight decode (bit
    planes or packed nibbles to floats) inside a matmul runs M times per
    weight, an activation quantizer (a division, rounding, clamping) N times
    per activation, and the matmul is no longer a contraction that
    `qopt-cpu-tile-and-vectorize` can vectorize. Unfused, the producer runs
    once per element it writes. A loop of one iteration that the operand
    does not read recomputes nothing and does not block fusion, except into
    a consumer with reduction loops: a decode fused into a matrix-vector
    product (M = 1) leaves a generic that is no contraction and does not
    vectorize, while the decode alone is elementwise and does.

    A decode of byte-quad bit fields marked `qopt.byte_quad_fields` (see
    `qopt.field_unpack`) keeps its mark when a copy or transpose is fused
    into it (the fused op reads the same words with the same body), so
    `qopt-cpu-tile-and-vectorize` can still read its quads from the words.
  }];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def CpuTransposeComputedOperands
    : Pass<"qopt-cpu-transpose-computed-operands", "mlir::func::FuncOp"> {
  let summary = "Have computed contraction operands written N-innermost";
  let description = [{
    The CPU register block of `qopt-cpu-tile-and-vectorize` reads, at each
    step of K, one row of `tile-n` consecutive elements of the right-hand
    operand. An operand read with a reduction dim innermost (a weight in the
    `[N, K]` layout of the quantized ops, where each output channel's K
    values are contiguous) makes that row a strided gather. When such an
    operand of a `linalg.generic` contraction is computed by a linalg op
    (say, decoded from bit planes or packed nibbles), this pass inserts an
    elementwise transpose generic that moves the contraction's innermost N
    dim last, and reads the transposed tensor in the contraction.
    `qopt-fuse-elementwise` then fuses the computation into the transpose,
    so the operand is computed directly in the layout the block reads, at no
    extra pass over memory.

    Operands that are function arguments or constants are left alone: the
    transpose would be a copy on every call.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def CpuRelayoutConstantOperands
    : Pass<"qopt-cpu-relayout-constant-operands", "mlir::func::FuncOp"> {
  let summary = "Store constants in the order the CPU loops read them";
  let description = [{
    Permutes the dims of constant `linalg.generic` inputs (and the indexing
    maps with them) so the loop nest reads each contiguously:

    * Elementwise ops (all loops parallel): the constant's dims are sorted
      by the innermost loop each indexing expression depends on. The case
      it is for: a weight decode written `[K, N]` (for a contraction's
      register block, see `qopt-cpu-transpose-computed-operands`) from bit
      fields `[N, K / F]` (or bit planes `[P, N, K / 32]`) and scales
      `[N, K / G]` stored by output channel: read in loop order, each word
      is a strided load; permuted to `[K / F, N]`, consecutive N are
      consecutive words and LLVM vectorizes the decode along N.
    * Contractions: a right-hand constant (reads N and K, not M) read
      K-innermost, such as 8-bit weights `[N, K]`, is stored N-innermost,
      the rows the register block loads (as
      `qopt-cpu-transpose-computed-operands` does for computed operands).

    First, `tensor.expand_shape` and `tensor.collapse_shape` of a constant
    become a constant of the reshaped type (a resource keeps its blob), so
    weights read through the unit-dim reshapes of `convert-qopt-to-linalg`
    are seen as constants. Only constants read by nothing but the op are
    permuted (so no weight is stored twice); splats, sub-byte element types
    and constants already in order are left alone.

    With `panel-n` (the register block's `tile-n`), a contraction's
    constant right-hand operand read with its single N dim last, `[K, N]`
    with N a multiple of `panel-n` above it, is then stored as panels,
    `[N / panel-n, K, panel-n]`: the K x `panel-n` panel each N block of
    `qopt-cpu-tile-and-vectorize` reads is contiguous instead of `panel-n`
    values of each of K rows N apart (a matrix-vector product streams the
    weights in order). The N loop splits into the panel and the column in
    it; the output is written through a `tensor.expand_shape` and read
    through a `tensor.collapse_shape` (the same bytes). Named contractions
    become generics. Where the right-hand operand is instead computed by an
    elementwise op (a weight decode), that op's constant inputs read with
    its N loop last (bit fields `[K / F, N]`, group scales `[K / G, N]`)
    are stored as panels `[N / panel-n, K / F, panel-n]`, read through
    `(n floordiv panel-n, .., n mod panel-n)`: the decode of an N block
    streams its words and scales.
  }];
  let options = [
    Option<"panelN", "panel-n", "int64_t", /*default=*/"0",
           "Columns of the panels a constant right-hand operand is stored "
           "in (0: not stored as panels)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def LowerX86ToLLVM : Pass<"qopt-lower-x86-to-llvm"> {
  let summary = "Lower qopt's x86 vector ops to LLVM intrinsic calls";
  let description = [{
    `qopt.x86.pmaddwd` becomes `llvm.call_intrinsic
    "llvm.x86.avx512.pmaddw.d.512"`. Runs after bufferization, with the rest
    of the lowering to the LLVM dialect; the operands are already vectors
    LLVM accepts. The target must have AVX-512 BW.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def CpuTileAndVectorize : Pass<"qopt-cpu-tile-and-vectorize",
                                "mlir::func::FuncOp"> {
  let summary = "Register-tile and vectorize matmul-like linalg ops for the CPU";
  let description = [{
    The CPU codegen strategy for contractions, on tensors before
    bufferization:

    1. `linalg.conv_2d_nchw_fchw` becomes im2col + a matmul-like contraction
       (when `im2col` is set): a gather into `[N, C, KH, KW, OH, OW]` with
       affine indices (`x[n, c, oh * sh + kh * dh, ow * sw + kw * dw]`,
       rows LLVM vectorizes) collapsed to `[N, C * KH * KW, OH * OW]`, or
       for a 1 x 1 filter of stride 1 the input itself, its spatial dims
       collapsed; then `out[n, f, p] += w[f, k] * col[n, k, p]`, the filter
       rows as M and the output pixels as N.
    2. Every contraction (matmul, batch_matmul, contraction generics, such as
       the integer matmuls of `convert-qopt-to-linalg`) is tiled over its
       innermost M and N dims by `tile-m` x `tile-n` (other parallel dims by
       1), N blocks outside M blocks, then over its innermost K dim by 1. A
       static K longer than a panel of `panel-bytes` (K chunk x `tile-n`
       values of the right-hand operand) is first tiled in such chunks,
       between the N and M loops, so the M blocks share a panel in cache;
       each sum still runs over K in order. Where M is dynamic, the rows
       left over after the full blocks run one row at a time (static 1 x
       `tile-n` blocks).
    3. The innermost tile is vectorized to `vector.contract` (masked where a
       dim is dynamic), which `convert-vector-to-llvm` with
       `vector-contract-lowering=outerproduct` turns into FMAs on a register
       block; `loop-invariant-subset-hoisting` afterwards keeps the
       accumulator block in registers across the K loop.

    With `int8-pmaddwd`, a block of an integer matmul whose operands are
    sign-extended from i8 (`convert-qopt-to-linalg`'s W8A8 and WxA8 matmuls)
    with an even K instead steps K by 2: the two rows of the right operand
    are interleaved as i16 pairs, each row's activation pair is broadcast,
    and `qopt.x86.pmaddwd` multiplies and adds a pair into each i32 lane,
    32 products per instruction on 512-bit registers (LLVM fuses it with
    the accumulation into `vpdpwssd` where the CPU has AVX-512 VNNI), 16
    on AVX2's 256-bit ones (registers of tile-n / 2 columns). The sums
    are exact: two products of i8 values never overflow i32. The
    activations are first sign-extended to i16 by an elementwise op before
    the loops (M x K values), so every N block broadcasts each row's pair
    straight from memory instead of extending the same bytes again.

    With `int8-vpdpbusd` too (AVX-512 VNNI), such a matmul whose blocks
    read the weights from memory (a constant, or the panel of a decode
    whose M does not fit one block) and whose K is a multiple of 4 becomes
    quad dot products instead: `qopt.x86.vpdpbusd` multiplies unsigned by
    signed bytes, four products a lane, 64 an instruction. The weights are
    read as the unsigned bytes B + 128 (a constant's top bits flipped at
    compile time, a decode given an xor) and the accumulator starts at
    C - 128 * sum_k A[m, k] (the activations' row sums, one pass over
    them), so the result is C + A B exactly. The block steps K by 4,
    reads B's four rows as byte quads (column j's four values together)
    and broadcasts each row's quad of activations. The panel B is sliced
    from is stored quad by quad, `[.., K, C]` as `[.., K / 4, 4 * C]`: a
    constant at compile time, a decoded panel once after its decode
    (every M block then reads it with no shuffles); a block whose panel
    cannot be (a splat constant, a panel of one K step) interleaves its
    four rows itself. A decode in the block's K loop (M fits one block)
    of signed byte-quad bit fields (marked `qopt.byte_quad_fields` by
    `convert-qopt-to-linalg`; 1, 2 and 4-bit weights) takes quad dot
    products whose quads come straight from the words: K rows 4i to
    4i + 3 of a column are bits B i up of its word's four bytes, so
    `(word >> B i) & mask` with each field's top bit flipped is the
    column's quad of unsigned q + 2^(B - 1), and the accumulator starts at
    C - 2^(B - 1) * sum_k A[m, k]: a shift, an and and an xor per 16
    columns and K step of 4, no decode. Byte-quad slices
    (`qopt.field_slices_unpack`: 3, 5, 6 and 7-bit weights as slices of 4,
    2 and 1 bits, one input each) give theirs the same way, the slices'
    bytes or'd after a shift to their bit. Such a block steps K by the rows
    of its narrowest slice's word (F / 4 quads, F fields a word) where K
    allows, so each word is read once and every shift is a constant. A
    panel of such fields (M beyond one block) is stored quad by quad the
    same way, straight from its words. Other decodes in the K loop keep
    pair dot products (their pairs are built in registers).

    With `int8-pmaddubsw` instead (AVX2 or AVX-512 BW without VNNI), the
    quad dot products of byte-quad fields or slices of at most 7 bits are
    `qopt.x86.pmaddubsw` (pairs of unsigned weight by signed activation
    bytes summed into i16, exact below 128) then `qopt.x86.pmaddwd` with
    ones (the two pairs of each quad into an i32 lane) and an add, on
    registers of `tile-n / 2` columns; other int8 matmuls are unchanged.

    A right-hand operand computed from constants alone by an elementwise
    `linalg.generic` read by nothing else (a weight decode: bit planes or
    packed integers and group scales to the values the block multiplies) is
    computed inside the contraction's loops instead of as a whole K x N
    tensor, each weight once per call:

    * the decode is fused between the N and M block loops (K in chunks of
      `panel-bytes`), a panel per N block and K chunk that every M block
      reads (decoded one vector row at a time);
    * where M fits one block (so one block reads each panel), the decode
      moves on into the block's K loop: each step decodes the row it
      multiplies (for pair dot products, its two rows, unrolled so each
      row's bit-field shift is a scalar), in vector registers. A pair dot
      product then builds its i16 pairs as `(row0 & 0xffff) | (row1 << 16)`
      on the decode's i32 lanes instead of interleaving bytes.

    Where the only dynamic loop is an M dim (an LM's tokens), such a
    contraction is versioned: `scf.if` M == 1 runs a copy with a static M of
    1 (its row sliced from the operands and inserted back into the
    accumulator), which decodes in its K loop as above, and any other M
    runs the panel copy; each branch has its own decode, and both sum in
    the same order.

    Tiling applies the decode's indexing maps to tile-local dims, which is
    exact for `d floordiv c` and `d mod c` only where the step along d is a
    multiple or a divisor of c (a bit-plane word of 32, a group of G): a
    chunk that is neither becomes all of K; a pair dot product's K step of
    two rows that is neither (6-bit fields, five a word: rows 4 and 5 lie in
    two words) decodes each row as a tile of its own; a batch dim the
    weight does not read (it would be decoded once per batch index) leaves
    the decode whole.

    Ops that fail to vectorize are left tiled, as scalar loops.
  }];
  let options = [
    Option<"tileM", "tile-m", "int64_t", /*default=*/"8",
           "Rows of the register block">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"32",
           "Columns of the register block">,
    Option<"panelBytes", "panel-bytes", "int64_t", /*default=*/"32768",
           "Bytes of the K chunk x tile-n panel of the right-hand operand "
           "the M blocks share">,
    Option<"im2col", "im2col", "bool", /*default=*/"true",
           "Rewrite 2-D NCHW convolutions as im2col + matmul">,
    Option<"int8Pmaddwd", "int8-pmaddwd", "bool", /*default=*/"false",
           "Blocks of 8-bit integer matmuls as pair dot products on "
           "registers of tile-n / 2 columns (x86 AVX-512 BW or AVX2)">,
    Option<"int8Vpdpbusd", "int8-vpdpbusd", "bool", /*default=*/"false",
           "With int8-pmaddwd: blocks of 8-bit integer matmuls whose "
           "weights are read from memory as AVX-512 VNNI quad dot "
           "products (x86 only)">,
    Option<"int8Pmaddubsw", "int8-pmaddubsw", "bool", /*default=*/"false",
           "Without int8-vpdpbusd: blocks of 8-bit integer matmuls of "
           "byte-quad weight fields of at most 7 bits as pmaddubsw and "
           "pmaddwd quad dot products, on registers of tile-n / 2 columns "
           "(x86 AVX2 or AVX-512 BW)">
  ];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::scf::SCFDialect",
                           "qopt::QoptDialect",
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
