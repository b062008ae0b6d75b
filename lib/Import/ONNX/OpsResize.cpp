//===- OpsResize.cpp - Resize and Upsample ---------------------------------===//
//
// Nearest and (multi-)linear interpolation written as one linalg.generic
// over the output that reads the input with tensor.extract at coordinates
// computed per ONNX's coordinate_transformation_mode.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>

using namespace mlir;
using namespace qopt::onnx_import;

namespace {
struct ResizeDim {
  bool resized = false;
  int64_t in = 0, out = 0;
  float scale = 1.0f;
  /// scale * in: the (fractional) resized length ONNX's coordinate
  /// transforms use; the integer output size may be smaller.
  float lengthResized() const { return scale * static_cast<float>(in); }
  float roiStart = 0.0f, roiEnd = 1.0f;
};

struct ResizeConfig {
  std::string mode = "nearest";
  std::string coordMode = "half_pixel";
  std::string nearestMode = "round_prefer_floor";
  float extrapolation = 0.0f;
};
} // namespace

/// x_original for output coordinate `x` (f32) along `d`.
static Value originalCoordinate(OpBuilder &b, Location loc, Value x,
                                const ResizeDim &d, const ResizeConfig &cfg) {
  Type f32 = b.getF32Type();
  auto c = [&](double v) { return scalarConstant(b, loc, f32, v); };
  auto add = [&](Value p, Value q) { return arith::AddFOp::create(b, loc, p, q); };
  auto sub = [&](Value p, Value q) { return arith::SubFOp::create(b, loc, p, q); };
  auto mul = [&](Value p, Value q) { return arith::MulFOp::create(b, loc, p, q); };
  auto div = [&](Value p, Value q) { return arith::DivFOp::create(b, loc, p, q); };
  const std::string &m = cfg.coordMode;
  if (m == "asymmetric")
    return div(x, c(d.scale));
  if (m == "tf_half_pixel_for_nn")
    return div(add(x, c(0.5)), c(d.scale));
  float len = d.lengthResized();
  if (m == "align_corners") {
    if (len <= 1)
      return c(0.0);
    return div(mul(x, c(d.in - 1)), c(len - 1));
  }
  if (m == "pytorch_half_pixel" && len <= 1)
    return c(0.0);
  if (m == "tf_crop_and_resize") {
    if (len <= 1)
      return c(0.5 * (d.roiStart + d.roiEnd) * (d.in - 1));
    Value start = c(double(d.roiStart) * (d.in - 1));
    Value step = c(double(d.roiEnd - d.roiStart) * (d.in - 1) / (len - 1));
    return add(start, mul(x, step));
  }
  Value halfPixel = sub(div(add(x, c(0.5)), c(d.scale)), c(0.5));
  if (m == "half_pixel_symmetric") {
    double adjustment = d.out / (double(d.scale) * d.in);
    double offset = d.in / 2.0 * (1.0 - adjustment);
    return add(c(offset), halfPixel);
  }
  return halfPixel; // half_pixel, pytorch_half_pixel
}

static Value nearestIndex(OpBuilder &b, Location loc, Value x,
                          const ResizeConfig &cfg) {
  Type f32 = b.getF32Type();
  const std::string &m = cfg.nearestMode;
  Value r;
  if (m == "floor") {
    r = math::FloorOp::create(b, loc, x);
  } else if (m == "ceil") {
    r = math::CeilOp::create(b, loc, x);
  } else {
    // round_prefer_floor / round_prefer_ceil: ties go down / up.
    Value fl = math::FloorOp::create(b, loc, x);
    Value frac = arith::SubFOp::create(b, loc, x, fl);
    Value half = scalarConstant(b, loc, f32, 0.5);
    auto pred = m == "round_prefer_ceil" ? arith::CmpFPredicate::OGE
                                         : arith::CmpFPredicate::OGT;
    Value up = arith::CmpFOp::create(b, loc, pred, frac, half);
    r = arith::SelectOp::create(
        b, loc, up,
        arith::AddFOp::create(b, loc, fl, scalarConstant(b, loc, f32, 1.0)),
        fl);
  }
  return r;
}

static Value clampIndex(OpBuilder &b, Location loc, Value fi, int64_t in) {
  Value i = arith::FPToSIOp::create(b, loc, b.getI64Type(), fi);
  i = arith::MaxSIOp::create(b, loc, i,
                             scalarConstant(b, loc, b.getI64Type(), 0));
  i = arith::MinSIOp::create(b, loc, i,
                             scalarConstant(b, loc, b.getI64Type(), in - 1));
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), i);
}

static LogicalResult emitResize(NodeContext &ctx, Value x,
                                ArrayRef<ResizeDim> dims,
                                const ResizeConfig &cfg) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  auto type = cast<RankedTensorType>(x.getType());
  Type elem = type.getElementType();
  int64_t rank = type.getRank();
  if (cfg.mode != "nearest" && cfg.mode != "linear")
    return ctx.error() << "Resize mode '" << cfg.mode
                       << "' is not supported (nearest and linear are)";
  if (cfg.mode == "linear" && !isa<FloatType>(elem))
    return ctx.error() << "linear Resize needs a floating-point input";
  SmallVector<OpFoldResult> inDims = tensorDims(b, loc, x), outDims;
  for (int64_t i = 0; i < rank; ++i)
    outDims.push_back(dims[i].resized ? OpFoldResult(b.getIndexAttr(dims[i].out))
                                      : inDims[i]);
  bool tfCrop = cfg.coordMode == "tf_crop_and_resize";
  Value init = emptyTensor(b, loc, outDims, elem);
  Value result =
      linalg::GenericOp::create(
          b, loc, init.getType(), ValueRange{}, ValueRange{init},
          SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank)},
          SmallVector<utils::IteratorType>(rank,
                                           utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange) {
            Type f32 = nb.getF32Type();
            // Per dim: the index (nearest) or the two neighbours and the
            // weight of the upper one (linear).
            SmallVector<Value> lo(rank), hi(rank), w(rank);
            Value outside; // tf_crop_and_resize extrapolation
            for (int64_t i = 0; i < rank; ++i) {
              Value iv = linalg::IndexOp::create(nb, nl, i);
              if (!dims[i].resized) {
                lo[i] = hi[i] = iv;
                continue;
              }
              Value xf = arith::SIToFPOp::create(
                  nb, nl, f32,
                  arith::IndexCastOp::create(nb, nl, nb.getI64Type(), iv));
              Value xo = originalCoordinate(nb, nl, xf, dims[i], cfg);
              if (tfCrop) {
                Value below = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OLT, xo,
                    scalarConstant(nb, nl, f32, 0.0));
                Value above = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OGT, xo,
                    scalarConstant(nb, nl, f32, dims[i].in - 1));
                Value out = arith::OrIOp::create(nb, nl, below, above);
                outside = outside ? arith::OrIOp::create(nb, nl, outside, out)
                                        .getResult()
                                  : out;
              }
              if (cfg.mode == "nearest") {
                lo[i] = hi[i] = clampIndex(nb, nl, nearestIndex(nb, nl, xo, cfg),
                                           dims[i].in);
                continue;
              }
              // Linear: clamping the coordinate equals ONNX's edge padding.
              xo = arith::MaximumFOp::create(nb, nl, xo,
                                             scalarConstant(nb, nl, f32, 0.0));
              xo = arith::MinimumFOp::create(
                  nb, nl, xo, scalarConstant(nb, nl, f32, dims[i].in - 1));
              Value fl = math::FloorOp::create(nb, nl, xo);
              w[i] = arith::SubFOp::create(nb, nl, xo, fl);
              lo[i] = clampIndex(nb, nl, fl, dims[i].in);
              hi[i] = clampIndex(
                  nb, nl,
                  arith::AddFOp::create(nb, nl, fl,
                                        scalarConstant(nb, nl, f32, 1.0)),
                  dims[i].in);
            }
            Value v;
            if (cfg.mode == "nearest") {
              v = tensor::ExtractOp::create(nb, nl, x, lo);
            } else {
              // Sum over the corners of the resized dims.
              SmallVector<int64_t> interp;
              for (int64_t i = 0; i < rank; ++i)
                if (dims[i].resized)
                  interp.push_back(i);
              Value acc = scalarConstant(nb, nl, f32, 0.0);
              for (int64_t corner = 0; corner < (1 << interp.size());
                   ++corner) {
                SmallVector<Value> coords(lo);
                Value weight = scalarConstant(nb, nl, f32, 1.0);
                for (auto [bit, i] : llvm::enumerate(interp)) {
                  bool upper = corner >> bit & 1;
                  coords[i] = upper ? hi[i] : lo[i];
                  Value wi = upper ? w[i]
                                   : arith::SubFOp::create(
                                         nb, nl,
                                         scalarConstant(nb, nl, f32, 1.0), w[i])
                                         .getResult();
                  weight = arith::MulFOp::create(nb, nl, weight, wi);
                }
                Value e = tensor::ExtractOp::create(nb, nl, x, coords);
                e = convertScalar(nb, nl, e, f32, false, false);
                acc = arith::AddFOp::create(
                    nb, nl, acc, arith::MulFOp::create(nb, nl, weight, e));
              }
              v = convertScalar(nb, nl, acc, elem, false, false);
            }
            if (outside)
              v = arith::SelectOp::create(
                  nb, nl, outside,
                  scalarConstant(nb, nl, elem, cfg.extrapolation), v);
            linalg::YieldOp::create(nb, nl, v);
          })
          .getResult(0);
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

/// Fills the per-dim sizes from scales (floor(in * scale)) or sizes.
static LogicalResult resizeDims(NodeContext &ctx, RankedTensorType type,
                                std::optional<SmallVector<double>> scales,
                                std::optional<SmallVector<int64_t>> sizes,
                                ArrayRef<int64_t> axes,
                                SmallVectorImpl<ResizeDim> &dims) {
  int64_t rank = type.getRank();
  dims.assign(rank, ResizeDim());
  size_t n = scales ? scales->size() : sizes->size();
  if (n != axes.size())
    return ctx.error() << "expected " << axes.size()
                       << " scales or sizes, got " << n;
  std::string policy = ctx.getString("keep_aspect_ratio_policy", "stretch");
  double policyScale = 0;
  if (sizes && policy != "stretch") {
    if (policy != "not_larger" && policy != "not_smaller")
      return ctx.error() << "unknown keep_aspect_ratio_policy '" << policy
                         << "'";
    bool first = true;
    for (auto [i, a] : llvm::enumerate(axes)) {
      int64_t in = type.getDimSize(a);
      if (ShapedType::isDynamic(in))
        return ctx.error() << "keep_aspect_ratio_policy needs static dims";
      double s = double((*sizes)[i]) / in;
      policyScale = first ? s
                          : (policy == "not_larger" ? std::min(policyScale, s)
                                                    : std::max(policyScale, s));
      first = false;
    }
  }
  for (auto [i, a] : llvm::enumerate(axes)) {
    ResizeDim &d = dims[a];
    int64_t in = type.getDimSize(a);
    if (scales) {
      double s = (*scales)[i];
      if (s <= 0)
        return ctx.error() << "scales must be positive";
      if (s == 1.0)
        continue;
      if (ShapedType::isDynamic(in))
        return ctx.error() << "resizing dynamic dimension " << a
                           << " is not supported";
      d.resized = true;
      d.in = in;
      d.scale = static_cast<float>(s);
      d.out = static_cast<int64_t>(std::floor(in * float(s)));
      continue;
    }
    int64_t out = (*sizes)[i];
    if (policyScale > 0)
      out = static_cast<int64_t>(std::nearbyint(in * policyScale));
    if (!ShapedType::isDynamic(in) && out == in && policyScale == 0)
      continue;
    if (ShapedType::isDynamic(in))
      return ctx.error() << "resizing dynamic dimension " << a
                         << " is not supported";
    d.resized = true;
    d.in = in;
    d.out = out;
    d.scale = policyScale > 0 ? static_cast<float>(policyScale)
                              : static_cast<float>(out) / static_cast<float>(in);
  }
  return success();
}

static LogicalResult convertResize(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 4)))
    return failure();
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  ResizeConfig cfg;
  cfg.mode = ctx.getString("mode", "nearest");
  if (ctx.getInt("antialias", 0))
    return ctx.error() << "antialias is not supported";
  std::optional<SmallVector<double>> scales;
  std::optional<SmallVector<int64_t>> sizes;
  std::optional<SmallVector<double>> roi;
  SmallVector<int64_t> axes;
  if (ctx.opset < 11) {
    // Resize-10: (X, scales), asymmetric coordinates, nearest rounds down.
    cfg.coordMode = "asymmetric";
    cfg.nearestMode = "floor";
    scales = ctx.constFloats(1);
    if (!scales)
      return ctx.error() << "scales must be a constant";
  } else {
    cfg.coordMode = ctx.getString("coordinate_transformation_mode", "half_pixel");
    cfg.nearestMode = ctx.getString("nearest_mode", "round_prefer_floor");
    cfg.extrapolation = ctx.getFloat("extrapolation_value", 0.0f);
    if (ctx.hasInput(2)) {
      scales = ctx.constFloats(2);
      if (!scales)
        return ctx.error() << "scales must be a constant";
      if (scales->empty())
        scales.reset();
    }
    if (ctx.hasInput(3)) {
      sizes = ctx.constInts(3);
      if (!sizes)
        return ctx.error() << "sizes must be known at compile time";
      if (sizes->empty())
        sizes.reset();
    }
    if (ctx.hasInput(1)) {
      roi = ctx.constFloats(1);
      if (roi && roi->empty())
        roi.reset();
    }
  }
  if (!scales && !sizes)
    return ctx.error() << "one of scales and sizes must be given";
  if (scales && sizes)
    return ctx.error() << "only one of scales and sizes may be given";
  static const char *modes[] = {"half_pixel",         "pytorch_half_pixel",
                                "align_corners",      "asymmetric",
                                "tf_crop_and_resize", "half_pixel_symmetric",
                                "tf_half_pixel_for_nn"};
  if (!llvm::is_contained(modes, cfg.coordMode))
    return ctx.error() << "unknown coordinate_transformation_mode '"
                       << cfg.coordMode << "'";
  static const char *nearest[] = {"round_prefer_floor", "round_prefer_ceil",
                                  "floor", "ceil"};
  if (!llvm::is_contained(nearest, cfg.nearestMode))
    return ctx.error() << "unknown nearest_mode '" << cfg.nearestMode << "'";
  if (std::optional<SmallVector<int64_t>> a = ctx.getInts("axes")) {
    for (int64_t v : *a) {
      FailureOr<int64_t> axis = normalizeAxis(ctx, v, rank);
      if (failed(axis))
        return failure();
      axes.push_back(*axis);
    }
  } else {
    axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  }
  SmallVector<ResizeDim> dims;
  if (failed(resizeDims(ctx, type, scales, sizes, axes, dims)))
    return failure();
  if (cfg.coordMode == "tf_crop_and_resize") {
    if (!roi || roi->size() != 2 * axes.size())
      return ctx.error() << "tf_crop_and_resize needs a constant roi of "
                         << 2 * axes.size() << " values";
    for (auto [i, a] : llvm::enumerate(axes)) {
      dims[a].roiStart = (*roi)[i];
      dims[a].roiEnd = (*roi)[axes.size() + i];
      // Cropping resizes even where the size is unchanged.
      if (!dims[a].resized && (dims[a].roiStart != 0 || dims[a].roiEnd != 1)) {
        dims[a].resized = true;
        dims[a].in = dims[a].out = type.getDimSize(a);
      }
    }
  }
  return emitResize(ctx, x, dims, cfg);
}

static LogicalResult convertUpsample(NodeContext &ctx) {
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = cast<RankedTensorType>(x.getType());
  std::optional<SmallVector<double>> scales;
  if (ctx.opset < 9) {
    if (std::optional<SmallVector<float>> s = ctx.getFloats("scales"))
      scales = SmallVector<double>(s->begin(), s->end());
  } else {
    scales = ctx.constFloats(1);
  }
  if (!scales)
    return ctx.error() << "scales must be a constant";
  ResizeConfig cfg;
  cfg.mode = ctx.getString("mode", "nearest");
  cfg.coordMode = "asymmetric";
  cfg.nearestMode = "floor";
  SmallVector<ResizeDim> dims;
  if (failed(resizeDims(ctx, type, scales, std::nullopt,
                        llvm::to_vector(llvm::seq<int64_t>(0, type.getRank())),
                        dims)))
    return failure();
  return emitResize(ctx, x, dims, cfg);
}

void qopt::onnx_import::registerResizeOps(OpRegistry &r) {
  r.add("", "Resize", convertResize, 10);
  r.add("", "Upsample", convertUpsample, 7, 9);
}
