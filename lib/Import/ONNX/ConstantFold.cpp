//===- ConstantFold.cpp - layout ops on known tensors ---------------------===//
//
// Exporters compute small integer tensors (pads, shapes, indices) with
// Reshape / Transpose / Slice / Concat / Squeeze / Unsqueeze / Cast over
// constants: PyTorch's F.pad, for one, builds its pads as a [n, 2] matrix,
// flips it with Slice (step -1), transposes and flattens it. The converters
// track known 0-D and 1-D integer lists; a 2-D step in between would lose
// them. PyTorch's LSTM export likewise reorders the gates of its weights
// with Slice and Concat of initializers, which would hide the weights from
// the quantization passes behind tensor ops.
//
// This evaluates such nodes at import time when every input is a known
// tensor: pure data movement, so any element type (bit patterns are
// moved); Cast only between integer types.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace qopt::onnx_import;

namespace {
/// A known tensor, row-major: integer values for integer types, the bit
/// patterns of the elements otherwise.
struct IntTensor {
  int32_t dtype = kInt64;
  SmallVector<int64_t> shape;
  SmallVector<int64_t> data;

  int64_t size() const { return data.size(); }
  SmallVector<int64_t> strides() const {
    SmallVector<int64_t> s(shape.size(), 1);
    for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
      s[i] = s[i + 1] * shape[i + 1];
    return s;
  }
};
} // namespace

/// Integer tensors larger than this are left to the converters; so are
/// other tensors larger than kMaxMovedElements.
static constexpr int64_t kMaxFoldElements = 4096;
static constexpr int64_t kMaxMovedElements = int64_t(1) << 22;

static bool foldableDType(int32_t dtype) {
  switch (dtype) {
  case kInt8:
  case kUInt8:
  case kInt16:
  case kUInt16:
  case kInt32:
  case kUInt32:
  case kInt64:
  case kUInt64:
    return true;
  default:
    return false;
  }
}

/// Element types whose elements are moved as bit patterns.
static bool movableDType(int32_t dtype) {
  return dtype == kFloat || dtype == kDouble || dtype == kFloat16 ||
         dtype == kBFloat16 || dtype == kBool;
}

static std::optional<IntTensor> knownInts(NodeContext &ctx, unsigned i) {
  if (!ctx.hasInput(i))
    return std::nullopt;
  int32_t dtype = ctx.inputDType(i);
  if (!foldableDType(dtype) && !movableDType(dtype))
    return std::nullopt;
  IntTensor t;
  t.dtype = dtype;
  if (const DecodedTensor *d = ctx.constTensor(i)) {
    t.shape.assign(d->shape.begin(), d->shape.end());
    if (foldableDType(dtype)) {
      if (d->numElements > kMaxFoldElements)
        return std::nullopt;
      std::vector<int64_t> v = d->toInts();
      t.data.assign(v.begin(), v.end());
      return t;
    }
    if (d->numElements > kMaxMovedElements)
      return std::nullopt;
    unsigned bytes = dtypeStorageBytes(dtype);
    ArrayRef<char> raw = d->blob.getData();
    t.data.resize(d->numElements);
    for (int64_t e = 0; e < d->numElements; ++e) {
      uint64_t bits = 0;
      for (unsigned b = 0; b < bytes; ++b)
        bits |= uint64_t(uint8_t(raw[e * bytes + b])) << (8 * b);
      t.data[e] = int64_t(bits);
    }
    return t;
  }
  if (!foldableDType(dtype))
    return std::nullopt;
  RankedTensorType type = ctx.inputType(i);
  if (!type || type.getRank() > 1 || !type.hasStaticShape())
    return std::nullopt;
  std::optional<SmallVector<int64_t>> ints = ctx.constInts(i);
  if (!ints)
    return std::nullopt;
  t.shape.assign(type.getShape().begin(), type.getShape().end());
  t.data = *ints;
  if ((int64_t)t.data.size() != type.getNumElements())
    return std::nullopt;
  return t;
}

/// Wraps `v` to the range of `dtype`, as a cast between integer types does.
static int64_t wrapTo(int64_t v, int32_t dtype) {
  unsigned bits = dtypeBits(dtype);
  if (bits >= 64)
    return v;
  uint64_t mask = (uint64_t(1) << bits) - 1;
  uint64_t u = uint64_t(v) & mask;
  if (!isUnsignedDType(dtype) && (u >> (bits - 1)))
    return int64_t(u | ~mask);
  return int64_t(u);
}

static std::optional<IntTensor> foldReshape(NodeContext &ctx,
                                            ArrayRef<IntTensor> in) {
  if (in.size() != 2)
    return std::nullopt;
  bool allowZero = ctx.getInt("allowzero", 0) != 0;
  IntTensor out = in[0];
  out.shape.clear();
  int64_t known = 1, inferred = -1;
  for (auto [i, dim] : llvm::enumerate(in[1].data)) {
    int64_t d = dim;
    if (d == 0 && !allowZero) {
      if (i >= in[0].shape.size())
        return std::nullopt;
      d = in[0].shape[i];
    }
    if (d == -1) {
      if (inferred >= 0)
        return std::nullopt;
      inferred = i;
      out.shape.push_back(1);
      continue;
    }
    if (d < 0)
      return std::nullopt;
    known *= d;
    out.shape.push_back(d);
  }
  if (inferred >= 0) {
    if (known == 0 || in[0].size() % known)
      return std::nullopt;
    out.shape[inferred] = in[0].size() / known;
    known *= out.shape[inferred];
  }
  if (known != in[0].size())
    return std::nullopt;
  return out;
}

static std::optional<IntTensor> foldTranspose(NodeContext &ctx,
                                              ArrayRef<IntTensor> in) {
  if (in.size() != 1)
    return std::nullopt;
  const IntTensor &x = in[0];
  int64_t rank = x.shape.size();
  SmallVector<int64_t> perm(rank);
  if (auto p = ctx.getInts("perm"))
    perm = *p;
  else
    for (int64_t i = 0; i < rank; ++i)
      perm[i] = rank - 1 - i;
  if ((int64_t)perm.size() != rank)
    return std::nullopt;
  SmallVector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return std::nullopt;
    seen[p] = true;
  }
  IntTensor out;
  out.dtype = x.dtype;
  for (int64_t p : perm)
    out.shape.push_back(x.shape[p]);
  SmallVector<int64_t> inStrides = x.strides();
  out.data.resize(x.size());
  SmallVector<int64_t> idx(rank, 0);
  for (int64_t flat = 0; flat < x.size(); ++flat) {
    // idx: the output's multi-index for `flat`.
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += idx[d] * inStrides[perm[d]];
    out.data[flat] = x.data[src];
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < out.shape[d])
        break;
      idx[d] = 0;
    }
  }
  return out;
}

/// Gathers `x` at the per-axis index lists `picks` (each within its dim).
static IntTensor gather(const IntTensor &x,
                        ArrayRef<SmallVector<int64_t>> picks) {
  IntTensor out;
  out.dtype = x.dtype;
  int64_t rank = x.shape.size(), total = 1;
  for (const auto &p : picks) {
    out.shape.push_back(p.size());
    total *= p.size();
  }
  SmallVector<int64_t> strides = x.strides();
  SmallVector<int64_t> idx(rank, 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t src = 0;
    for (int64_t d = 0; d < rank; ++d)
      src += picks[d][idx[d]] * strides[d];
    out.data.push_back(x.data[src]);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < out.shape[d])
        break;
      idx[d] = 0;
    }
  }
  return out;
}

static std::optional<IntTensor> foldSlice(NodeContext &ctx,
                                          ArrayRef<IntTensor> in) {
  if (ctx.opset < 10 || in.size() < 3)
    return std::nullopt;
  const IntTensor &x = in[0];
  int64_t rank = x.shape.size();
  ArrayRef<int64_t> starts = in[1].data, ends = in[2].data;
  SmallVector<int64_t> axes, steps;
  if (in.size() > 3 && ctx.hasInput(3))
    axes = in[3].data;
  else
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (in.size() > 4 && ctx.hasInput(4))
    steps = in[4].data;
  else
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return std::nullopt;
  SmallVector<SmallVector<int64_t>> picks(rank);
  for (int64_t d = 0; d < rank; ++d)
    for (int64_t i = 0; i < x.shape[d]; ++i)
      picks[d].push_back(i);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (axis < 0 || axis >= rank || steps[i] == 0)
      return std::nullopt;
    int64_t dim = x.shape[axis], step = steps[i];
    int64_t start = starts[i], end = ends[i];
    // ONNX Slice: negative values count from the end, then clamp to
    // [0, dim] for positive steps and [-1, dim - 1] for negative ones.
    if (start < 0)
      start += dim;
    if (end < 0 && end > std::numeric_limits<int64_t>::min() / 2)
      end += dim;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
    } else {
      start = std::clamp<int64_t>(start, -1, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
    }
    picks[axis].clear();
    for (int64_t j = start; step > 0 ? j < end : j > end; j += step)
      picks[axis].push_back(j);
  }
  return gather(x, picks);
}

static std::optional<IntTensor> foldConcat(NodeContext &ctx,
                                           ArrayRef<IntTensor> in) {
  if (in.empty())
    return std::nullopt;
  int64_t rank = in[0].shape.size();
  int64_t axis = ctx.getInt("axis", 0);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return std::nullopt;
  IntTensor out;
  out.dtype = in[0].dtype;
  out.shape = in[0].shape;
  out.shape[axis] = 0;
  for (const IntTensor &t : in) {
    if ((int64_t)t.shape.size() != rank || t.dtype != out.dtype)
      return std::nullopt;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t.shape[d] != in[0].shape[d])
        return std::nullopt;
    out.shape[axis] += t.shape[axis];
  }
  // Rows of the axis and everything after it, input after input.
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= out.shape[d];
  for (int64_t o = 0; o < outer; ++o)
    for (const IntTensor &t : in) {
      int64_t chunk = t.size() / std::max<int64_t>(outer, 1);
      out.data.append(t.data.begin() + o * chunk,
                      t.data.begin() + (o + 1) * chunk);
    }
  return out;
}

/// Squeeze / Unsqueeze: only the shape changes.
static std::optional<IntTensor>
foldSqueeze(NodeContext &ctx, ArrayRef<IntTensor> in, bool unsqueeze) {
  if (in.empty())
    return std::nullopt;
  SmallVector<int64_t> axes;
  if (in.size() > 1)
    axes = in[1].data;
  else if (auto a = ctx.getInts("axes"))
    axes = *a;
  IntTensor out = in[0];
  int64_t rank = out.shape.size();
  if (unsqueeze) {
    int64_t outRank = rank + axes.size();
    SmallVector<bool> inserted(outRank, false);
    for (int64_t a : axes) {
      if (a < 0)
        a += outRank;
      if (a < 0 || a >= outRank || inserted[a])
        return std::nullopt;
      inserted[a] = true;
    }
    out.shape.clear();
    auto it = in[0].shape.begin();
    for (int64_t d = 0; d < outRank; ++d)
      out.shape.push_back(inserted[d] ? 1 : *it++);
    return out;
  }
  SmallVector<bool> drop(rank, false);
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d)
      drop[d] = out.shape[d] == 1;
  }
  for (int64_t a : axes) {
    if (a < 0)
      a += rank;
    if (a < 0 || a >= rank || out.shape[a] != 1)
      return std::nullopt;
    drop[a] = true;
  }
  out.shape.clear();
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d])
      out.shape.push_back(in[0].shape[d]);
  return out;
}

static std::optional<IntTensor> foldCast(NodeContext &ctx,
                                         ArrayRef<IntTensor> in) {
  int64_t to = ctx.getInt("to", kUndefined);
  if (in.size() != 1 || !foldableDType(to) || !foldableDType(in[0].dtype))
    return std::nullopt;
  IntTensor out = in[0];
  out.dtype = to;
  for (int64_t &v : out.data)
    v = wrapTo(v, to);
  return out;
}

bool qopt::onnx_import::foldKnownIntegerNode(NodeContext &ctx) {
  llvm::StringRef op = ctx.node.op_type();
  if (!ctx.node.domain().empty() && ctx.node.domain() != "ai.onnx")
    return false;
  if (op != "Reshape" && op != "Transpose" && op != "Slice" && op != "Concat" &&
      op != "Squeeze" && op != "Unsqueeze" && op != "Cast")
    return false;
  if (ctx.numOutputs() != 1 || !ctx.hasOutput(0))
    return false;
  SmallVector<IntTensor> in;
  bool anyMultiDim = false, moved = false;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    if (!ctx.hasInput(i)) {
      in.emplace_back(); // optional input left out: a placeholder
      continue;
    }
    std::optional<IntTensor> t = knownInts(ctx, i);
    if (!t)
      return false;
    anyMultiDim |= t->shape.size() > 1;
    moved |= !foldableDType(t->dtype);
    in.push_back(std::move(*t));
  }
  std::optional<IntTensor> out;
  if (op == "Reshape")
    out = foldReshape(ctx, in);
  else if (op == "Transpose")
    out = foldTranspose(ctx, in);
  else if (op == "Slice")
    out = foldSlice(ctx, in);
  else if (op == "Concat")
    out = foldConcat(ctx, in);
  else if (op == "Squeeze" || op == "Unsqueeze")
    out = foldSqueeze(ctx, in, op == "Unsqueeze");
  else
    out = foldCast(ctx, in);
  // 0-D and 1-D integer results from 0-D and 1-D inputs are the
  // converters' own business (they keep symbolic elements too).
  if (!out || (!moved && !anyMultiDim && out->shape.size() <= 1))
    return false;

  onnx::TensorProto *t = ctx.importer.newTensor();
  t->set_name(ctx.node.output(0));
  t->set_data_type(out->dtype);
  for (int64_t d : out->shape)
    t->add_dims(d);
  unsigned bytes = dtypeStorageBytes(out->dtype);
  std::string raw(out->data.size() * bytes, '\0');
  for (auto [i, v] : llvm::enumerate(out->data))
    for (unsigned b = 0; b < bytes; ++b)
      raw[i * bytes + b] = char((uint64_t(v) >> (8 * b)) & 0xff);
  t->set_raw_data(std::move(raw));

  ValueInfo info;
  info.tensor = t;
  info.dtype = out->dtype;
  info.type =
      RankedTensorType::get(out->shape, dtypeToType(ctx.ctx(), out->dtype));
  ctx.importer.bind(ctx.node.output(0), std::move(info));
  return true;
}
