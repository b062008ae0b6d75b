//===- InstrumentCalibration.cpp - layer inputs as extra results ----------===//

#include "qopt/Transforms/Quant/LinearLayers.h"
#include "qopt/Transforms/Quant/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace qopt {
#define GEN_PASS_DEF_INSTRUMENTCALIBRATION
#include "qopt/Transforms/Quant/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;

/// The 2-D input of a quantizable layer: a linear layer's left operand, or
/// the input of a weight-only qopt.qmatmul.
static Value layerInput(Operation *op) {
  if (auto mm = dyn_cast<linalg::MatmulOp>(op))
    if (std::optional<LinearLayer> layer = matchLinearLayer(mm))
      return layer->input;
  if (auto qmm = dyn_cast<QMatmulOp>(op))
    if (qmm.isWeightOnly())
      return qmm.getAct();
  return {};
}

namespace {
struct InstrumentCalibrationPass
    : qopt::impl::InstrumentCalibrationBase<InstrumentCalibrationPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(function);
    if (!func || func.isExternal()) {
      module.emitError() << "no function @" << function << " to instrument";
      return signalPassFailure();
    }
    SmallVector<std::pair<std::string, Value>> taps;
    bool failedAny = false;
    func.walk([&](Operation *op) {
      if (!getQuantConfig(op))
        return;
      Value input = layerInput(op);
      if (!input) {
        op->emitError() << "layer '" << getLayerName(op)
                        << "' has a quantization config but is not a linear "
                           "layer (run qopt-conv-to-matmul first for "
                           "convolutions)";
        failedAny = true;
        return;
      }
      taps.push_back({getLayerName(op), input});
    });
    if (failedAny)
      return signalPassFailure();
    if (taps.empty())
      return;
    if (!func.getBody().hasOneBlock()) {
      func.emitError() << "instrumentation needs a single-block function";
      return signalPassFailure();
    }
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    OpBuilder b(ret);
    SmallVector<Value> operands(ret.getOperands());
    for (auto &[name, input] : taps) {
      Value value = input;
      auto type = cast<RankedTensorType>(value.getType());
      if (!type.getElementType().isF32()) {
        // Statistics are kept in f32.
        Value init = tensor::EmptyOp::create(
            b, ret.getLoc(), tensor::getMixedSizes(b, ret.getLoc(), value),
            b.getF32Type());
        value = linalg::GenericOp::create(
                    b, ret.getLoc(), init.getType(), ValueRange{value},
                    ValueRange{init},
                    SmallVector<AffineMap>(2, b.getMultiDimIdentityMap(2)),
                    SmallVector<utils::IteratorType>(
                        2, utils::IteratorType::parallel),
                    [](OpBuilder &nb, Location l, ValueRange args) {
                      linalg::YieldOp::create(
                          nb, l,
                          arith::ExtFOp::create(nb, l, nb.getF32Type(),
                                                args[0])
                              .getResult());
                    })
                    .getResult(0);
      }
      unsigned index = func.getNumResults();
      NamedAttribute nameAttr(
          b.getStringAttr("onnx.name"),
          b.getStringAttr("qopt.calib:" + name));
      if (failed(func.insertResult(index, value.getType(),
                                   b.getDictionaryAttr({nameAttr})))) {
        func.emitError() << "cannot add a result to @" << function;
        return signalPassFailure();
      }
      operands.push_back(value);
    }
    ret->setOperands(operands);
  }
};
} // namespace
