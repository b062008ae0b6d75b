//===- OpsRecurrent.cpp - RNN, GRU, LSTM ----------------------------------===//
//
// A recurrent layer becomes, per direction:
//   * one matmul of the whole sequence with the input weights (plus the
//     biases that do not depend on the state): the bulk of the work, a plain
//     linalg.matmul with a constant right operand that later passes can
//     quantize;
//   * an scf.for over time carrying the state tensors (h, and c for LSTM)
//     and the output sequence; each step is a matmul of the state with the
//     recurrent weights, accumulated onto that step's input projection, and
//     one linalg.generic for the gates and the state update.
// sequence_lens masks the steps past a batch entry's length (state kept,
// output zero); the reverse direction with sequence_lens reverses each batch
// entry's valid prefix before and after the loop, as ONNX Runtime does.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "LinearBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/ADT/StringExtras.h"

#include <functional>

using namespace mlir;
using namespace qopt::onnx_import;

namespace {

enum class CellKind { RNN, GRU, LSTM };

/// One activation function of the `activations` attribute with its alpha
/// and beta.
struct Activation {
  std::string name; // lower case
  double alpha = 0, beta = 0;
};

/// What every recurrent op shares, read and checked once.
struct RecurrentLayer {
  CellKind kind;
  unsigned gates;      // 1, 3, 4
  int64_t hidden;      // H
  unsigned directions; // 1 or 2
  bool reverseOnly;    // direction = reverse
  bool batchMajor;     // layout = 1
  std::optional<double> clip;
  bool linearBeforeReset; // GRU
  bool inputForget;       // LSTM
  // [direction][function]
  SmallVector<SmallVector<Activation, 3>, 2> activations;
};

} // namespace

static Value fconst(OpBuilder &b, Location loc, Type type, double v) {
  return scalarConstant(b, loc, type, v);
}

static Value applyActivation(OpBuilder &b, Location loc, const Activation &a,
                             Value x) {
  Type t = x.getType();
  auto mul = [&](Value p, Value q) -> Value {
    return arith::MulFOp::create(b, loc, p, q);
  };
  auto add = [&](Value p, Value q) -> Value {
    return arith::AddFOp::create(b, loc, p, q);
  };
  Value zero = fconst(b, loc, t, 0.0), one = fconst(b, loc, t, 1.0);
  const std::string &n = a.name;
  if (n == "sigmoid") {
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
    return arith::DivFOp::create(b, loc, one, add(one, e));
  }
  if (n == "tanh")
    return math::TanhOp::create(b, loc, x);
  if (n == "relu")
    return arith::MaximumFOp::create(b, loc, x, zero);
  if (n == "affine")
    return add(mul(fconst(b, loc, t, a.alpha), x), fconst(b, loc, t, a.beta));
  if (n == "leakyrelu") {
    Value neg =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, zero);
    return arith::SelectOp::create(b, loc, neg,
                                   mul(fconst(b, loc, t, a.alpha), x), x);
  }
  if (n == "thresholdedrelu") {
    Value gt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x,
                                     fconst(b, loc, t, a.alpha));
    return arith::SelectOp::create(b, loc, gt, x, zero);
  }
  if (n == "scaledtanh")
    return mul(fconst(b, loc, t, a.alpha),
               math::TanhOp::create(b, loc, mul(fconst(b, loc, t, a.beta), x)));
  if (n == "hardsigmoid") {
    Value v =
        add(mul(fconst(b, loc, t, a.alpha), x), fconst(b, loc, t, a.beta));
    v = arith::MaximumFOp::create(b, loc, v, zero);
    return arith::MinimumFOp::create(b, loc, v, one);
  }
  if (n == "elu") {
    Value neg =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, zero);
    return arith::SelectOp::create(
        b, loc, neg,
        mul(fconst(b, loc, t, a.alpha), math::ExpM1Op::create(b, loc, x)), x);
  }
  if (n == "softsign")
    return arith::DivFOp::create(b, loc, x,
                                 add(one, math::AbsFOp::create(b, loc, x)));
  assert(n == "softplus" && "activation checked when read");
  // log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)).
  Value absx = math::AbsFOp::create(b, loc, x);
  Value tail = math::Log1pOp::create(
      b, loc, math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, absx)));
  return add(arith::MaximumFOp::create(b, loc, x, zero), tail);
}

/// Default alpha and beta of each activation, as the ONNX operators of the
/// same name (and ONNX Runtime's recurrent kernels) have them; whether the
/// function reads an alpha or a beta at all.
struct ActivationInfo {
  const char *name;
  bool usesAlpha, usesBeta;
  double alpha, beta;
};
static const ActivationInfo kActivations[] = {
    {"relu", false, false, 0, 0},
    {"tanh", false, false, 0, 0},
    {"sigmoid", false, false, 0, 0},
    {"affine", true, true, 1.0, 0.0},
    {"leakyrelu", true, false, 0.01, 0},
    {"thresholdedrelu", true, false, 1.0, 0},
    {"scaledtanh", true, true, 1.0, 1.0},
    {"hardsigmoid", true, true, 0.2, 0.5},
    {"elu", true, false, 1.0, 0},
    {"softsign", false, false, 0, 0},
    {"softplus", false, false, 0, 0},
};

static LogicalResult readLayer(NodeContext &ctx, CellKind kind,
                               RecurrentLayer &layer) {
  layer.kind = kind;
  layer.gates = kind == CellKind::RNN ? 1 : kind == CellKind::GRU ? 3 : 4;
  std::string direction = ctx.getString("direction", "forward");
  if (direction != "forward" && direction != "reverse" &&
      direction != "bidirectional")
    return ctx.error() << "direction must be forward, reverse or "
                          "bidirectional, not '"
                       << direction << "'";
  layer.directions = direction == "bidirectional" ? 2 : 1;
  layer.reverseOnly = direction == "reverse";
  int64_t layout = ctx.getInt("layout", 0);
  if (layout != 0 && layout != 1)
    return ctx.error() << "layout must be 0 or 1, not " << layout;
  layer.batchMajor = layout == 1;
  if (ctx.hasAttr("clip")) {
    float clip = ctx.getFloat("clip", 0.0f);
    if (!(clip > 0.0f))
      return ctx.error() << "clip must be positive, not " << clip;
    layer.clip = clip;
  }
  layer.linearBeforeReset = ctx.getInt("linear_before_reset", 0) != 0;
  layer.inputForget = ctx.getInt("input_forget", 0) != 0;

  // hidden_size, or the recurrence weights' last dim.
  RankedTensorType rType = ctx.inputType(2);
  int64_t rHidden = rType && rType.getRank() == 3 ? rType.getDimSize(2)
                                                  : ShapedType::kDynamic;
  layer.hidden = ctx.getInt("hidden_size", rHidden);
  if (ShapedType::isDynamic(layer.hidden))
    return ctx.error() << "hidden_size is missing and R's last dim is not "
                          "known at compile time";
  if (layer.hidden <= 0)
    return ctx.error() << "hidden_size must be positive, not " << layer.hidden;

  // Activations: the op's defaults per direction unless given.
  unsigned perDirection = layer.gates == 1 ? 1 : layer.gates == 3 ? 2 : 3;
  SmallVector<std::string> names;
  if (auto *attr = ctx.attr("activations")) {
    for (const std::string &s : attr->strings())
      names.push_back(llvm::StringRef(s).lower());
    if (names.size() != perDirection * layer.directions)
      return ctx.error() << "activations must list " << perDirection
                         << " function(s) per direction ("
                         << perDirection * layer.directions << " in all), not "
                         << names.size();
  } else {
    const char *defaults[3] = {"sigmoid", "tanh", "tanh"};
    for (unsigned d = 0; d < layer.directions; ++d)
      for (unsigned f = 0; f < perDirection; ++f)
        names.push_back(layer.gates == 1 ? "tanh" : defaults[f]);
  }
  SmallVector<float> alphas, betas;
  if (auto a = ctx.getFloats("activation_alpha"))
    alphas = *a;
  if (auto bv = ctx.getFloats("activation_beta"))
    betas = *bv;
  size_t nextAlpha = 0, nextBeta = 0;
  layer.activations.resize(layer.directions);
  for (unsigned i = 0; i < names.size(); ++i) {
    const ActivationInfo *info = nullptr;
    for (const ActivationInfo &candidate : kActivations)
      if (names[i] == candidate.name)
        info = &candidate;
    if (!info)
      return ctx.error() << "unsupported activation '" << names[i]
                         << "' (supported: Relu, Tanh, Sigmoid, Affine, "
                            "LeakyRelu, ThresholdedRelu, ScaledTanh, "
                            "HardSigmoid, Elu, Softsign, Softplus)";
    Activation act{names[i], info->alpha, info->beta};
    // Alphas and betas are consumed in order by the functions that read
    // them, as ONNX Runtime does.
    if (info->usesAlpha && nextAlpha < alphas.size())
      act.alpha = alphas[nextAlpha++];
    if (info->usesBeta && nextBeta < betas.size())
      act.beta = betas[nextBeta++];
    layer.activations[i / perDirection].push_back(act);
  }
  return success();
}

/// Checks that `type` is [dim0, dim1, ...] where the expected dims are known
/// (kDynamic: any).
static LogicalResult expectShape(NodeContext &ctx, const char *what,
                                 RankedTensorType type,
                                 ArrayRef<int64_t> expected,
                                 const std::string &layout) {
  bool ok = type && type.getRank() == (int64_t)expected.size();
  for (unsigned i = 0; ok && i < expected.size(); ++i)
    ok = ShapedType::isDynamic(expected[i]) ||
         ShapedType::isDynamic(type.getDimSize(i)) ||
         type.getDimSize(i) == expected[i];
  if (ok)
    return success();
  InFlightDiagnostic diag = ctx.error() << what << " must be [";
  llvm::interleave(
      expected, diag,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          diag << "?";
        else
          diag << d;
      },
      ", ");
  diag << "] (" << layout << "), not ";
  if (type)
    diag << type;
  else
    diag << "missing";
  return failure();
}

/// `tensor[index]` along dim 0, that dim dropped.
static Value takeFirstDim(OpBuilder &b, Location loc, Value tensor,
                          OpFoldResult index) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> dims = tensorDims(b, loc, tensor);
  SmallVector<OpFoldResult> offsets(dims.size(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(dims.size(), b.getIndexAttr(1));
  offsets[0] = index;
  dims[0] = b.getIndexAttr(1);
  auto resultType = RankedTensorType::get(type.getShape().drop_front(),
                                          type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, resultType, tensor, offsets,
                                        dims, strides);
}

/// Columns [begin, begin + count) of a 2-D tensor.
static Value takeColumns(OpBuilder &b, Location loc, Value tensor,
                         int64_t begin, int64_t count) {
  SmallVector<OpFoldResult> dims = tensorDims(b, loc, tensor);
  return tensor::ExtractSliceOp::create(
      b, loc, tensor, {b.getIndexAttr(0), b.getIndexAttr(begin)},
      {dims[0], b.getIndexAttr(count)}, {b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// Writes `slice` (the dest's shape without dim `dim`) at `index` of `dim`.
static Value insertAt(OpBuilder &b, Location loc, Value slice, Value dest,
                      unsigned dim, OpFoldResult index) {
  SmallVector<OpFoldResult> sizes = tensorDims(b, loc, dest);
  SmallVector<OpFoldResult> offsets(sizes.size(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(sizes.size(), b.getIndexAttr(1));
  offsets[dim] = index;
  sizes[dim] = b.getIndexAttr(1);
  return tensor::InsertSliceOp::create(b, loc, slice, dest, offsets, sizes,
                                       strides);
}

/// out[t, b, :] = t < len[b] ? in[len[b] - 1 - t, b, :] : in[t, b, :] for a
/// [seq, batch, k] tensor: reverses each batch entry's valid prefix.
static Value reversePrefixes(OpBuilder &b, Location loc, Value input,
                             Value lengths) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<OpFoldResult> dims = tensorDims(b, loc, input);
  Value init = emptyTensor(b, loc, dims, type.getElementType());
  MLIRContext *ctx = b.getContext();
  AffineMap id = b.getMultiDimIdentityMap(3);
  AffineMap lenMap = AffineMap::get(3, 0, {getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<utils::IteratorType> iterators(3, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{lengths}, ValueRange{init},
             ArrayRef<AffineMap>{lenMap, id}, iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value t = linalg::IndexOp::create(nb, nloc, 0);
               Value bi = linalg::IndexOp::create(nb, nloc, 1);
               Value k = linalg::IndexOp::create(nb, nloc, 2);
               Value len = arith::IndexCastOp::create(
                   nb, nloc, nb.getIndexType(), args[0]);
               Value inside = arith::CmpIOp::create(
                   nb, nloc, arith::CmpIPredicate::slt, t, len);
               Value one = arith::ConstantIndexOp::create(nb, nloc, 1);
               Value mirrored = arith::SubIOp::create(
                   nb, nloc, arith::SubIOp::create(nb, nloc, len, one), t);
               Value src =
                   arith::SelectOp::create(nb, nloc, inside, mirrored, t);
               Value v = tensor::ExtractOp::create(nb, nloc, input,
                                                   ValueRange{src, bi, k});
               linalg::YieldOp::create(nb, nloc, v);
             })
      .getResult(0);
}

/// Direction `d` of input `i` ([D, ...] -> [...]). For a constant input the
/// slice is a constant of its own, so that the quantization passes see the
/// input weights of each direction as a plain constant matmul operand.
static Value directionOf(NodeContext &ctx, unsigned i, Value whole,
                         unsigned d) {
  OpBuilder &b = ctx.b;
  const DecodedTensor *t = ctx.constTensor(i);
  if (!t || t->shape.empty())
    return takeFirstDim(b, ctx.loc, whole, b.getIndexAttr(d));
  int64_t per = t->numElements / t->shape[0];
  unsigned bytes = dtypeStorageBytes(t->dtype);
  onnx::TensorProto *slice = ctx.importer.newTensor();
  std::string name = ctx.node.input(i) + "[" + std::to_string(d) + "]";
  slice->set_name(name);
  slice->set_data_type(t->dtype);
  for (int64_t dim : ArrayRef<int64_t>(t->shape).drop_front())
    slice->add_dims(dim);
  slice->set_raw_data(
      std::string(t->blob.getData().data() + d * per * bytes, per * bytes));
  if (!ctx.importer.lookup(name)) {
    ValueInfo info;
    info.tensor = slice;
    info.dtype = t->dtype;
    info.type = RankedTensorType::get(
        ArrayRef<int64_t>(t->shape).drop_front(),
        cast<RankedTensorType>(whole.getType()).getElementType());
    ctx.importer.bind(name, std::move(info));
  }
  FailureOr<Value> v = ctx.importer.getTensor(name, ctx.loc);
  return succeeded(v) ? *v : takeFirstDim(b, ctx.loc, whole, b.getIndexAttr(d));
}

/// The state a direction starts from: `initial[d]` ([batch, H]) or zeros.
static Value initialState(NodeContext &ctx, Value initial, unsigned d,
                          OpFoldResult batch, int64_t hidden, Type elem) {
  OpBuilder &b = ctx.b;
  if (!initial)
    return splatTensor(b, ctx.loc, {batch, b.getIndexAttr(hidden)},
                       fconst(b, ctx.loc, elem, 0.0));
  return takeFirstDim(b, ctx.loc, initial, b.getIndexAttr(d));
}

static LogicalResult convertRecurrent(NodeContext &ctx, CellKind kind) {
  bool isLstm = kind == CellKind::LSTM;
  if (failed(ctx.expectInputs(3, isLstm ? 8 : 6)))
    return failure();
  RecurrentLayer layer;
  if (failed(readLayer(ctx, kind, layer)))
    return failure();
  if (isLstm && ctx.numOutputs() > 3)
    return ctx.error() << "LSTM has at most 3 outputs";
  if (!isLstm && ctx.numOutputs() > 2)
    return ctx.error() << ctx.node.op_type() << " has at most 2 outputs";

  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  Value x = ctx.input(0), w = ctx.input(1), r = ctx.input(2);
  if (!x || !w || !r)
    return failure();
  auto xType = cast<RankedTensorType>(x.getType());
  Type elem = xType.getElementType();
  if (!isa<FloatType>(elem))
    return ctx.error() << "X must be a float tensor, not " << xType;
  if (xType.getRank() != 3)
    return ctx.error() << "X must be "
                       << (layer.batchMajor ? "[batch, seq, "
                                              "input]"
                                            : "[seq, batch, "
                                              "input]")
                       << ", not " << xType;
  if (layer.batchMajor)
    x = transposeTensor(b, loc, x, {1, 0, 2});
  xType = cast<RankedTensorType>(x.getType());

  const int64_t H = layer.hidden, G = layer.gates, D = layer.directions;
  int64_t inputSize = xType.getDimSize(2);
  // "4 * hidden_size" for LSTM and so on, for the messages.
  std::string gatesH =
      G == 1 ? "hidden_size" : std::to_string(G) + " * hidden_size";
  if (failed(expectShape(ctx, "W", cast<RankedTensorType>(w.getType()),
                         {D, G * H, inputSize},
                         "num_directions, " + gatesH + ", input_size")) ||
      failed(expectShape(ctx, "R", cast<RankedTensorType>(r.getType()),
                         {D, G * H, H},
                         "num_directions, " + gatesH + ", hidden_size")))
    return failure();
  for (Value v : {w, r})
    if (cast<RankedTensorType>(v.getType()).getElementType() != elem)
      return ctx.error() << "X, W and R must have one element type";

  auto optionalInput = [&](unsigned i, Value &out) -> LogicalResult {
    if (!ctx.hasInput(i))
      return success();
    out = ctx.input(i);
    return success(out != nullptr);
  };
  Value bias, lengths, initH, initC, peep;
  if (failed(optionalInput(3, bias)) || failed(optionalInput(4, lengths)) ||
      failed(optionalInput(5, initH)) ||
      (isLstm &&
       (failed(optionalInput(6, initC)) || failed(optionalInput(7, peep)))))
    return failure();

  SmallVector<OpFoldResult> xDims = tensorDims(b, loc, x);
  OpFoldResult seq = xDims[0], batch = xDims[1];
  std::optional<int64_t> batchStatic = getConstantIntValue(batch);
  int64_t batchSize = batchStatic ? *batchStatic : ShapedType::kDynamic;
  if (bias &&
      failed(expectShape(
          ctx, "B", cast<RankedTensorType>(bias.getType()), {D, 2 * G * H},
          "num_directions, " + std::to_string(2 * G) + " * hidden_size")))
    return failure();
  if (lengths) {
    auto lType = cast<RankedTensorType>(lengths.getType());
    if (failed(expectShape(ctx, "sequence_lens", lType, {batchSize}, "batch")))
      return failure();
    if (!lType.getElementType().isInteger(32))
      return ctx.error() << "sequence_lens must be [batch] int32, not "
                         << lType;
    // All lengths equal to the sequence length mask nothing.
    if (auto known = ctx.constInts(4)) {
      std::optional<int64_t> seqStatic = getConstantIntValue(seq);
      if (seqStatic &&
          llvm::all_of(*known, [&](int64_t l) { return l == *seqStatic; }))
        lengths = Value();
    }
  }
  const char *stateLayout = layer.batchMajor
                                ? "batch, num_directions, hidden_size"
                                : "num_directions, batch, hidden_size";
  for (auto [name, state] :
       {std::pair<const char *, Value *>{"initial_h", &initH},
        {"initial_c", &initC}}) {
    if (!*state)
      continue;
    auto type = cast<RankedTensorType>(state->getType());
    SmallVector<int64_t> expected = layer.batchMajor
                                        ? SmallVector<int64_t>{batchSize, D, H}
                                        : SmallVector<int64_t>{D, batchSize, H};
    if (failed(expectShape(ctx, name, type, expected, stateLayout)))
      return failure();
    if (layer.batchMajor)
      *state = transposeTensor(b, loc, *state, {1, 0, 2});
  }
  if (peep &&
      failed(expectShape(ctx, "P", cast<RankedTensorType>(peep.getType()),
                         {D, 3 * H}, "num_directions, 3 * hidden_size")))
    return failure();
  for (Value v : {bias, initH, initC, peep})
    if (v && cast<RankedTensorType>(v.getType()).getElementType() != elem)
      return ctx.error() << "B, initial_h, initial_c and P must have X's "
                            "element type";

  bool wantY = ctx.hasOutput(0);
  OpFoldResult hiddenDim = b.getIndexAttr(H);
  SmallVector<Value> finalH, finalC, outputs;
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value seqValue = dimValue(b, loc, seq);
  // GRU with linear_before_reset keeps the recurrent bias of the candidate
  // inside the reset product; every other bias is added once, up front.
  bool gruLbr = kind == CellKind::GRU && layer.linearBeforeReset;

  for (unsigned d = 0; d < D; ++d) {
    bool reverse = layer.reverseOnly || d == 1;
    const SmallVector<Activation, 3> &acts = layer.activations[d];
    Value wT = transposeTensor(b, loc, directionOf(ctx, 1, w, d),
                               {1, 0}); // [input, G*H]
    Value rT =
        transposeTensor(b, loc, directionOf(ctx, 2, r, d), {1, 0}); // [H, G*H]

    // Input projection of every step: [seq, batch, G*H].
    FailureOr<Value> proj = buildMatMul(ctx, x, wT);
    if (failed(proj))
      return failure();
    Value inputProj = *proj;
    Value recurrentBias; // [G*H], GRU linear_before_reset only
    if (bias) {
      Value bd = takeFirstDim(b, loc, bias, b.getIndexAttr(d)); // [2*G*H]
      Value wb = tensor::ExtractSliceOp::create(b, loc, bd, {b.getIndexAttr(0)},
                                                {b.getIndexAttr(G * H)},
                                                {b.getIndexAttr(1)});
      Value rb = tensor::ExtractSliceOp::create(
          b, loc, bd, {b.getIndexAttr(G * H)}, {b.getIndexAttr(G * H)},
          {b.getIndexAttr(1)});
      SmallVector<Value> operands = {inputProj, wb};
      if (gruLbr)
        recurrentBias = rb;
      else
        operands.push_back(rb);
      inputProj = elementwise(
          b, loc, operands, tensorDims(b, loc, inputProj), elem,
          [](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
            Value sum = args[0];
            for (Value v : args.drop_front())
              sum = arith::AddFOp::create(nb, nloc, sum, v);
            return sum;
          });
    }
    if (reverse && lengths)
      inputProj = reversePrefixes(b, loc, inputProj, lengths);
    // Steps run in time order over the (reversed) projection unless the
    // loop itself walks backwards.
    bool walkBackwards = reverse && !lengths;

    Value peepholes; // [3, H]
    if (peep)
      peepholes =
          reshapeTensor(b, loc, takeFirstDim(b, loc, peep, b.getIndexAttr(d)),
                        {b.getIndexAttr(3), hiddenDim});

    SmallVector<Value> iterInit = {initialState(ctx, initH, d, batch, H, elem)};
    if (isLstm)
      iterInit.push_back(initialState(ctx, initC, d, batch, H, elem));
    if (wantY)
      iterInit.push_back(emptyTensor(b, loc, {seq, batch, hiddenDim}, elem));

    // GRU without linear_before_reset needs R split: [H, 2H] for z and r,
    // [H, H] for the candidate (applied to r * h).
    Value rTzr, rTh;
    if (kind == CellKind::GRU && !gruLbr) {
      rTzr = takeColumns(b, loc, rT, 0, 2 * H);
      rTh = takeColumns(b, loc, rT, 2 * H, H);
    }
    // With linear_before_reset, h R^T accumulates onto the recurrent bias
    // (or zeros), the same [batch, 3H] start every step: built once here.
    Value recurrentInit;
    if (gruLbr) {
      SmallVector<OpFoldResult> dims = {batch, b.getIndexAttr(3 * H)};
      recurrentInit =
          recurrentBias ? broadcastTo(b, loc, recurrentBias, dims)
                        : splatTensor(b, loc, dims, fconst(b, loc, elem, 0.0));
    }

    auto loop = scf::ForOp::create(
        b, loc, c0, seqValue, c1, iterInit,
        [&](OpBuilder &lb, Location lloc, Value step, ValueRange iter) {
          Value t = step;
          if (walkBackwards)
            t = arith::SubIOp::create(
                lb, lloc, arith::SubIOp::create(lb, lloc, seqValue, c1), step);
          Value hPrev = iter[0];
          Value cPrev = isLstm ? iter[1] : Value();
          Value xt = takeFirstDim(lb, lloc, inputProj, t); // [batch, G*H]
          MLIRContext *mctx = lb.getContext();
          SmallVector<utils::IteratorType> par(2,
                                               utils::IteratorType::parallel);
          AffineMap id2 = lb.getMultiDimIdentityMap(2);
          auto gateMap = [&](int64_t k) {
            return AffineMap::get(2, 0,
                                  {getAffineDimExpr(0, mctx),
                                   getAffineConstantExpr(k, mctx),
                                   getAffineDimExpr(1, mctx)},
                                  mctx);
          };
          AffineMap rowMap =
              AffineMap::get(2, 0, {getAffineDimExpr(0, mctx)}, mctx);
          auto asGates = [&](Value v, int64_t count) {
            return reshapeTensor(lb, lloc, v,
                                 {batch, lb.getIndexAttr(count), hiddenDim});
          };
          auto matmulInto = [&](Value lhs, Value rhs, Value acc) -> Value {
            return linalg::MatmulOp::create(lb, lloc, TypeRange{acc.getType()},
                                            ValueRange{lhs, rhs},
                                            ValueRange{acc})
                .getResult(0);
          };
          auto clip = [&](OpBuilder &nb, Location nloc, Value v) -> Value {
            if (!layer.clip)
              return v;
            v = arith::MaximumFOp::create(nb, nloc, v,
                                          fconst(nb, nloc, elem, -*layer.clip));
            return arith::MinimumFOp::create(
                nb, nloc, v, fconst(nb, nloc, elem, *layer.clip));
          };
          // Masking by sequence_lens: `active` for this batch row.
          auto isActive = [&](OpBuilder &nb, Location nloc, Value len) {
            Value l =
                arith::IndexCastOp::create(nb, nloc, nb.getIndexType(), len);
            return arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::slt,
                                         step, l);
          };

          // One generic computes (h, c?, y) from the gate pre-activations.
          // `cell(args)` gets the gate inputs and returns new h (and c).
          SmallVector<Value> inputs;
          SmallVector<AffineMap> maps;
          auto addInput = [&](Value v, AffineMap m) {
            inputs.push_back(v);
            maps.push_back(m);
            return inputs.size() - 1;
          };
          size_t hIdx = addInput(hPrev, id2);
          size_t cIdx = isLstm ? addInput(cPrev, id2) : 0;
          size_t lenIdx = lengths ? addInput(lengths, rowMap) : 0;
          SmallVector<size_t> gateIdx, extraIdx;

          using CellFn = std::function<std::pair<Value, Value>(
              OpBuilder &, Location, ValueRange)>;
          CellFn cell;
          const Activation &f = acts[0];
          if (kind == CellKind::RNN) {
            Value pre = matmulInto(hPrev, rT, xt);
            gateIdx.push_back(addInput(pre, id2));
            cell = [&](OpBuilder &nb, Location nloc, ValueRange a) {
              Value h =
                  applyActivation(nb, nloc, f, clip(nb, nloc, a[gateIdx[0]]));
              return std::make_pair(h, Value());
            };
          } else if (kind == CellKind::LSTM) {
            Value pre = asGates(matmulInto(hPrev, rT, xt), 4); // i o f c
            for (int64_t k = 0; k < 4; ++k)
              gateIdx.push_back(addInput(pre, gateMap(k)));
            if (peepholes)
              for (int64_t k = 0; k < 3; ++k) // i o f
                extraIdx.push_back(addInput(
                    peepholes, AffineMap::get(2, 0,
                                              {getAffineConstantExpr(k, mctx),
                                               getAffineDimExpr(1, mctx)},
                                              mctx)));
            const Activation &g = acts[1], &hAct = acts[2];
            cell = [&](OpBuilder &nb, Location nloc, ValueRange a) {
              Value cp = a[cIdx];
              auto withPeephole = [&](Value v, unsigned k, Value cv) -> Value {
                if (extraIdx.empty())
                  return v;
                return arith::AddFOp::create(
                    nb, nloc, v,
                    arith::MulFOp::create(nb, nloc, a[extraIdx[k]], cv));
              };
              Value i = applyActivation(
                  nb, nloc, f,
                  clip(nb, nloc, withPeephole(a[gateIdx[0]], 0, cp)));
              Value fg;
              if (layer.inputForget)
                fg = arith::SubFOp::create(nb, nloc,
                                           fconst(nb, nloc, elem, 1.0), i);
              else
                fg = applyActivation(
                    nb, nloc, f,
                    clip(nb, nloc, withPeephole(a[gateIdx[2]], 2, cp)));
              Value cand =
                  applyActivation(nb, nloc, g, clip(nb, nloc, a[gateIdx[3]]));
              Value c = arith::AddFOp::create(
                  nb, nloc, arith::MulFOp::create(nb, nloc, fg, cp),
                  arith::MulFOp::create(nb, nloc, i, cand));
              Value o = applyActivation(
                  nb, nloc, f,
                  clip(nb, nloc, withPeephole(a[gateIdx[1]], 1, c)));
              Value h = arith::MulFOp::create(
                  nb, nloc, o, applyActivation(nb, nloc, hAct, c));
              return std::make_pair(h, c);
            };
          } else if (gruLbr) {
            // h~ = g(xh + r * (h Rh^T + Rbh)): R's product as a whole.
            Value hp = asGates(matmulInto(hPrev, rT, recurrentInit), 3);
            Value xg = asGates(xt, 3);
            for (int64_t k = 0; k < 3; ++k)
              gateIdx.push_back(addInput(xg, gateMap(k)));
            for (int64_t k = 0; k < 3; ++k)
              extraIdx.push_back(addInput(hp, gateMap(k)));
            const Activation &g = acts[1];
            cell = [&](OpBuilder &nb, Location nloc, ValueRange a) {
              auto sum = [&](unsigned k) -> Value {
                return arith::AddFOp::create(nb, nloc, a[gateIdx[k]],
                                             a[extraIdx[k]]);
              };
              Value z = applyActivation(nb, nloc, f, clip(nb, nloc, sum(0)));
              Value rg = applyActivation(nb, nloc, f, clip(nb, nloc, sum(1)));
              Value pre = arith::AddFOp::create(
                  nb, nloc, a[gateIdx[2]],
                  arith::MulFOp::create(nb, nloc, rg, a[extraIdx[2]]));
              Value cand = applyActivation(nb, nloc, g, clip(nb, nloc, pre));
              return std::make_pair(cand, z);
            };
          } else {
            // z, r first; then h~ = g(xh + (r * h) Rh^T).
            Value zr = asGates(
                matmulInto(hPrev, rTzr, takeColumns(lb, lloc, xt, 0, 2 * H)),
                2);
            Value init = emptyTensor(lb, lloc, {batch, hiddenDim}, elem);
            auto zrOp = linalg::GenericOp::create(
                lb, lloc, TypeRange{init.getType(), init.getType()},
                ValueRange{zr, zr, hPrev}, ValueRange{init, init},
                ArrayRef<AffineMap>{gateMap(0), gateMap(1), id2, id2, id2}, par,
                [&](OpBuilder &nb, Location nloc, ValueRange a) {
                  Value z = applyActivation(nb, nloc, f, clip(nb, nloc, a[0]));
                  Value rg = applyActivation(nb, nloc, f, clip(nb, nloc, a[1]));
                  linalg::YieldOp::create(
                      nb, nloc,
                      ValueRange{z, arith::MulFOp::create(nb, nloc, rg, a[2])});
                });
            Value candPre =
                matmulInto(zrOp.getResult(1), rTh,
                           takeColumns(lb, lloc, xt, 2 * H, H)); // [batch, H]
            gateIdx.push_back(addInput(zrOp.getResult(0), id2)); // z
            gateIdx.push_back(addInput(candPre, id2));
            const Activation &g = acts[1];
            cell = [&](OpBuilder &nb, Location nloc, ValueRange a) {
              Value cand =
                  applyActivation(nb, nloc, g, clip(nb, nloc, a[gateIdx[1]]));
              return std::make_pair(cand, a[gateIdx[0]]);
            };
          }

          // Outputs: h, (c,) y.
          Value init = emptyTensor(lb, lloc, {batch, hiddenDim}, elem);
          unsigned numResults = 1 + (isLstm ? 1 : 0) + (wantY ? 1 : 0);
          // h and c update the loop's state in place (each element reads
          // only its own previous value), so bufferization reuses buffers.
          SmallVector<Value> inits(numResults, init);
          inits[0] = hPrev;
          if (isLstm)
            inits[1] = cPrev;
          SmallVector<Type> resultTypes(numResults, init.getType());
          for (unsigned i = 0; i < numResults; ++i)
            maps.push_back(id2);
          auto update = linalg::GenericOp::create(
              lb, lloc, resultTypes, inputs, inits, maps, par,
              [&](OpBuilder &nb, Location nloc, ValueRange a) {
                auto [first, second] = cell(nb, nloc, a);
                Value hp = a[hIdx];
                Value h = first, c;
                if (kind == CellKind::GRU) {
                  // H = (1 - z) * h~ + z * H_prev; `second` is z.
                  Value oneMinusZ = arith::SubFOp::create(
                      nb, nloc, fconst(nb, nloc, elem, 1.0), second);
                  h = arith::AddFOp::create(
                      nb, nloc,
                      arith::MulFOp::create(nb, nloc, oneMinusZ, first),
                      arith::MulFOp::create(nb, nloc, second, hp));
                } else if (isLstm) {
                  c = second;
                }
                Value y = h;
                if (lengths) {
                  Value active = isActive(nb, nloc, a[lenIdx]);
                  y = arith::SelectOp::create(nb, nloc, active, h,
                                              fconst(nb, nloc, elem, 0.0));
                  h = arith::SelectOp::create(nb, nloc, active, h, hp);
                  if (isLstm)
                    c = arith::SelectOp::create(nb, nloc, active, c, a[cIdx]);
                }
                SmallVector<Value> yields = {h};
                if (isLstm)
                  yields.push_back(c);
                if (wantY)
                  yields.push_back(y);
                linalg::YieldOp::create(nb, nloc, yields);
              });
          SmallVector<Value> next(
              update.getResults().take_front(isLstm ? 2 : 1));
          if (wantY)
            next.push_back(insertAt(lb, lloc, update.getResults().back(),
                                    iter.back(), 0, t));
          scf::YieldOp::create(lb, lloc, next);
        });
    finalH.push_back(loop.getResult(0));
    if (isLstm)
      finalC.push_back(loop.getResult(1));
    if (wantY) {
      Value y = loop.getResults().back(); // [seq, batch, H]
      if (reverse && lengths)
        y = reversePrefixes(b, loc, y, lengths);
      outputs.push_back(y);
    }
  }

  // Stack the directions: Y [seq, D, batch, H], Y_h / Y_c [D, batch, H];
  // batch first for layout 1.
  auto stack = [&](ArrayRef<Value> parts, unsigned dim) {
    SmallVector<OpFoldResult> dims = tensorDims(b, loc, parts[0]);
    dims.insert(dims.begin() + dim, b.getIndexAttr(D));
    Value out = emptyTensor(b, loc, dims, elem);
    for (unsigned d = 0; d < parts.size(); ++d)
      out = insertAt(b, loc, parts[d], out, dim, b.getIndexAttr(d));
    return out;
  };
  int32_t dtype = ctx.inputDType(0);
  if (wantY) {
    Value y = stack(outputs, 1);
    if (layer.batchMajor)
      y = transposeTensor(b, loc, y, {2, 0, 1, 3});
    ctx.setOutput(0, y, dtype);
  }
  auto setState = [&](unsigned i, ArrayRef<Value> parts) {
    if (!ctx.hasOutput(i))
      return;
    Value s = stack(parts, 0);
    if (layer.batchMajor)
      s = transposeTensor(b, loc, s, {1, 0, 2});
    ctx.setOutput(i, s, dtype);
  };
  setState(1, finalH);
  if (isLstm)
    setState(2, finalC);
  return success();
}

static LogicalResult convertRNN(NodeContext &ctx) {
  return convertRecurrent(ctx, CellKind::RNN);
}
static LogicalResult convertGRU(NodeContext &ctx) {
  return convertRecurrent(ctx, CellKind::GRU);
}
static LogicalResult convertLSTM(NodeContext &ctx) {
  return convertRecurrent(ctx, CellKind::LSTM);
}

void qopt::onnx_import::registerRecurrentOps(OpRegistry &r) {
  r.add("", "RNN", convertRNN);
  r.add("", "GRU", convertGRU);
  r.add("", "LSTM", convertLSTM);
}
