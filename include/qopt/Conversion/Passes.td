//===- Passes.td - qopt conversion passes ------------------*- tablegen -*-===//

#ifndef QOPT_CONVERSION_PASSES_TD
#define QOPT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQoptToLinalg : Pass<"convert-qopt-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower qopt ops to linalg and arith on byte storage (CPU path)";
  let description = [{
    Rewrites every qopt operation into upstream linalg/arith/math on tensors,
    with `!qopt.int<sN>`/`!qopt.int<uN>` values held one per byte (i8,
    sign- or zero-extended). Function signatures are converted the same way.

    * `qopt.quantize`: `clamp(round(x / scale) + zp)` element by element, the
      division in f32, rounding per the scheme, NaN to the zero point.
    * `qopt.dequantize`: `(q - zp) * scale` in f32, then the result type.
    * `qopt.storage_cast`: truncation to the low N bits and sign/zero
      extension.
    * `qopt.qmatmul` with quantized activations: exact int32 partial sums per
      weight group, `sum (a - za)(w - zw)`, then the f32 dequantization
      epilogue `sum_g sa[m] * sw[n, g] * acc[m, n, g] + bias[n]`. With float
      activations (weight-only): weights dequantized to the activation type,
      then a matmul accumulating in f32.

    Every result equals the reference library (`qopt/Reference/QuantMath.h`):
    integer parts bit for bit.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::math::MathDialect",
                           "mlir::tensor::TensorDialect"];
}

def ConvertBitplaneToGPU : Pass<"qopt-bitplane-to-gpu", "mlir::ModuleOp"> {
  let summary = "Lower quantized matmuls to tensor-core GPU kernels (bit-plane binary, s8, f16)";
  let description = [{
    Rewrites every `qopt.qmatmul` with integer activations (WpAq, p, q in
    1..8) into the bit-plane form on the GPU: a `gpu.module @qopt_kernels`
    with, per matmul,

    * `..._pack_act`: activations (one value per byte) to `Q` bit planes,
      `[Q, M, KW]` i32, K padded to whole 256-bit MMA steps (the layout of
      `qopt.bitplane_pack`); `..._rowsum_act` when the weights have a zero
      point (and the same two kernels for run-time weights);
    * `..._quant_pack_act` instead, when the activation is a `qopt.quantize`
      of a float [M, K] (round half to even, per-tensor or per-row scale):
      one kernel quantizes and packs, computing the per-row scale and zero
      point itself (warp/block reductions) when they come from the dynamic
      absmax/min-max generics of `qopt-quantize-activations`, and writes
      the row sums too;
    * `..._bmma`: the WpAq product as P*Q binary products on the tensor
      cores: `nvvm.mma.sync` with b1 operands and `and_popc` (m16n8k256, or
      m8n8k128 for small M), combined with `+-2^(i+j)` in s32 registers,
      per plane pair or per chain of pairs with one shift (`plane-loop`).
      Block tiles of bit planes are staged in shared memory by a
      multi-stage `cp.async` pipeline (`nvgpu.device_async_copy` + groups).
      The epilogue runs in registers before the one store: zero-point
      corrections from row sums, per-tensor/per-channel/per-group weight
      scales (folded at each group's end), per-tensor or per-row activation
      scales, bias, and f16 or f32 output.

    Constant weights are repacked at compile time (from `qopt.bitplane_unpack`
    of stored planes or a constant); their row sums too. The host side, a
    private function `@..._host` (attribute `qopt.gpu_host`) called in
    place of the matmul, copies operands to the device (`gpu.alloc`,
    `gpu.memcpy`), launches the kernels with `gpu.launch_func`, copies the
    result back and frees its device buffers (`gpu.dealloc`); its own
    function, so that buffer deallocation of the model, which cannot reason
    about device memory, can leave it out.
  }];
  let options = [
    Option<"mmaShape", "mma-shape", "std::string", /*default=*/"\"auto\"",
           "bmma's MMA shape: m16n8k256 (64x64 tiles), m8n8k128 (8x128 "
           "tiles), or auto (the planner's: m8n8k128 for a static M of at "
           "most 8, and a range M <= 8 of its own for a dynamic M)">,
    Option<"maxStages", "max-stages", "int64_t", /*default=*/"3",
           "Most cp.async pipeline stages (bounded by 48 KiB of shared "
           "memory, or imma/hmma's shared-memory-bytes)">,
    Option<"cpuFallback", "cpu-fallback", "bool", /*default=*/"false",
           "Leave matmuls the kernels cannot take (weight-only, dynamic K or "
           "N, weight groups not a multiple of 256) to the CPU lowering, "
           "with a remark, instead of failing">,
    Option<"kernel", "kernel", "std::string", /*default=*/"\"auto\"",
           "Kernel family of every matmul: bmma (bit-plane binary MMA), imma "
           "(s8 MMA, weights unpacked from bit slices in registers), hmma "
           "(weight-only: f16 or bf16 MMA on weights unpacked to 16-bit floats), or auto (the "
           "planner: per layer and range of M, from cost-table when given)">,
    Option<"hmmaType", "hmma-type", "std::string", /*default=*/"\"auto\"",
           "hmma's 16-bit float operands: f16 (11 significant bits, values "
           "beyond 65504 overflow), bf16 (f32's range, 8 significant bits), "
           "or auto (bf16 for bf16 activations, else f16)">,
    Option<"costTable", "cost-table", "std::string", /*default=*/"\"\"",
           "JSON file of measured kernel times (bench/gpu_bench.py "
           "--cost-table) the planner chooses from">,
    Option<"splitKBlocks", "split-k-blocks", "int64_t", /*default=*/"256",
           "The small tiles (imma/hmma 16 rows, bmma 8 rows): split K over "
           "blockIdx.z (whole groups "
           "or k-tiles, at most 16 parts) until about this many blocks run, "
           "then sum the parts in a reduction kernel (0: never split)">,
    Option<"warpsSplitKMaxM", "warps-split-k-max-m", "int64_t",
           /*default=*/"4",
           "imma/hmma: up to this M (a range of its own for a dynamic M), "
           "the 16-row tile's warps split each k-tile's MMA k-steps over "
           "16 x 16 blocks (16 x 32 with two k-steps) and add their sums in "
           "shared memory, instead of lying side by side along N over "
           "16 x 64 blocks (0: never; at most 16)">,
    Option<"largeTileMinM", "large-tile-min-m", "int64_t",
           /*default=*/"512",
           "imma/hmma: from this M (a range of its own for a dynamic M), "
           "128 x 128 blocks of eight warps of 64 x 32 instead of 64 x 64 "
           "blocks of four, where two of their pipeline stages fit "
           "shared-memory-bytes (0: never; else 17 to 65536)">,
    Option<"decodeKTile", "decode-k-tile", "int64_t", /*default=*/"512",
           "imma/hmma's warps-split-K tile: K per pipeline stage, in s8 "
           "values (hmma: half as many 16-bit values, the same bytes): 128, "
           "256, 512 or 1024; a stage holds whole weight groups or lies "
           "within one">,
    Option<"decodeMaxStages", "decode-max-stages", "int64_t",
           /*default=*/"6",
           "imma/hmma's warps-split-K tile: most cp.async pipeline stages "
           "(1 to 16, bounded by shared-memory-bytes)">,
    Option<"decodeFuseQuant", "decode-fuse-quant", "bool",
           /*default=*/"true",
           "imma's warps-split-K tile quantizes its own activation rows "
           "when they come from a dynamic per-token qopt.quantize (each "
           "block stages the float rows); false: a quantize kernel writes "
           "the bytes first, as for the other tiles">,
    Option<"sharedMemoryBytes", "shared-memory-bytes", "int64_t",
           /*default=*/"49152",
           "imma/hmma: most shared memory of one block, in bytes, for the "
           "pipeline's stages (49152 to 232448); a kernel that takes more "
           "than 48 KiB takes it as dynamic shared memory, which the launch "
           "opts into (the target's per-block limit: 99 KiB on sm_86/89, "
           "163 KiB on sm_80, 227 KiB on sm_90)">,
    Option<"randomWeights", "random-weights", "bool", /*default=*/"false",
           "Kernel-speed benchmarks only: constant weights are not packed "
           "into the library; each kernel reads a pseudo-random device "
           "buffer of their packed size (qopt_gpu_random_i32) instead, so "
           "the results are not the model's">,
    Option<"planeLoop", "plane-loop", "std::string", /*default=*/"\"auto\"",
           "Loop of a k-step over plane pairs: act (one iteration per "
           "activation plane, every MMA from zero, one multiply-add per "
           "product), shift (one iteration per shift i + j, the pairs of a "
           "shift and sign chained through the MMA accumulator), or auto "
           "(whichever needs fewer accumulator updates)">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::func::FuncDialect",
                           "mlir::gpu::GPUDialect",
                           "mlir::LLVM::LLVMDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::NVVM::NVVMDialect",
                           "mlir::nvgpu::NVGPUDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::vector::VectorDialect"];
}

def ExternDynamicSharedMemory
    : Pass<"qopt-extern-dynamic-shared", "mlir::gpu::GPUModuleOp"> {
  let summary = "Gives the dynamic shared memory of lowered kernels CUDA's "
                "external form";
  let description = [{
    Runs on a gpu.module after `convert-gpu-to-nvvm`. That lowering makes
    each `gpu.dynamic_shared_memory` an internal zero-size global in the
    shared address space (3), which the NVPTX backend prints as a one-byte
    `.shared` variable: ptxas then counts a byte of static shared memory and
    a PTX reader (qopt-cuda-emu) sees no dynamic shared memory at all. This
    pass makes every such global (no initializer) an external declaration,
    printed as CUDA's `.extern .shared .align 16 .b8 name[];`, whose size is
    the launch's dynamic shared memory. Other globals are left as they are.
  }];
}

#endif // QOPT_CONVERSION_PASSES_TD
