//===- QoptDialectTest.cpp - C++ API of the qopt types and attributes -----===//
//
// Covers what the textual syntax cannot reach: verifier errors of attributes
// built through the C++ API, and the helpers later passes rely on.
//
//===----------------------------------------------------------------------===//

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace qopt;

namespace {
class QoptDialectTest : public ::testing::Test {
protected:
  QoptDialectTest() { context.loadDialect<QoptDialect>(); }

  /// Builds a scheme through the verifying getter and returns the diagnostic
  /// it emitted (empty when valid).
  std::string schemeError(Granularity g, int64_t axis, int64_t groupSize) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      message = diag.str();
      return success();
    });
    QuantSchemeAttr::getChecked(
        [&] { return emitError(UnknownLoc::get(&context)); }, &context, g, axis,
        groupSize, /*symmetric=*/true, /*narrowRange=*/false,
        RoundingMode::NearestEven);
    return message;
  }

  MLIRContext context;
};
} // namespace

TEST_F(QoptDialectTest, IntTypeRanges) {
  auto s1 = IntType::get(&context, 1, true);
  EXPECT_EQ(s1.getMinValue(), -1);
  EXPECT_EQ(s1.getMaxValue(), 0);
  auto u3 = IntType::get(&context, 3, false);
  EXPECT_EQ(u3.getMinValue(), 0);
  EXPECT_EQ(u3.getMaxValue(), 7);
  EXPECT_EQ(u3.getNumLevels(), 8);
  auto s8 = IntType::get(&context, 8, true);
  EXPECT_EQ(s8.getMinValue(), -128);
  EXPECT_EQ(s8.getMaxValue(), 127);
}

TEST_F(QoptDialectTest, PerTensorTakesNoAxisOrGroupSize) {
  EXPECT_EQ(schemeError(Granularity::PerTensor, 0, 0), "");
  EXPECT_EQ(schemeError(Granularity::PerTensor, 1, 0),
            "per_tensor scheme takes no axis or group size");
  EXPECT_EQ(schemeError(Granularity::PerTensor, 0, 32),
            "per_tensor scheme takes no axis or group size");
}

TEST_F(QoptDialectTest, PerChannelTakesNoGroupSize) {
  EXPECT_EQ(schemeError(Granularity::PerChannel, 1, 0), "");
  EXPECT_EQ(schemeError(Granularity::PerChannel, 1, 8),
            "per_channel scheme takes no group size");
}

TEST_F(QoptDialectTest, ScaleShapes) {
  auto perGroup =
      QuantSchemeAttr::get(&context, Granularity::PerGroup, 1, 32, true);
  EXPECT_EQ(perGroup.getScaleShape({16, 128}), (SmallVector<int64_t>{16, 4}));
  EXPECT_EQ(perGroup.getScaleShape({ShapedType::kDynamic, 64}),
            (SmallVector<int64_t>{ShapedType::kDynamic, 2}));
  auto perChannel =
      QuantSchemeAttr::get(&context, Granularity::PerChannel, 0, 0, true);
  EXPECT_EQ(perChannel.getScaleShape({16, 128}), (SmallVector<int64_t>{16}));
  auto perTensor =
      QuantSchemeAttr::get(&context, Granularity::PerTensor, 0, 0, false);
  EXPECT_TRUE(perTensor.getScaleShape({16, 128}).empty());
}
